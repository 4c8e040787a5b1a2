import CofferFoundation
import CofferCrypto
public import struct Foundation.Date
public import CofferStore

/// The fields of a stored row that carry authority or ordering (a token's policies, a secret's current
/// version, a mount's type), in one canonical encoding, so that ``Sealer/tag(_:)`` can authenticate them.
///
/// The encoding names the table and the row's key, then each field by name, type and length-prefixed value:
/// a tag made for one row does not verify for another row, another table, or the same bytes split
/// differently. Values are encoded from the domain's own types, never from a backend's column types, so
/// SQLite and PostgreSQL authenticate alike (a time is its whole microseconds, as both store it).
public struct AuthenticatedRow: Sendable {
    /// The table, as written in SQL (part of the message, and named in a refusal).
    public let table: String
    /// The row's primary key, as text (named in a refusal; never a secret).
    public let key: String
    private(set) var message: [UInt8]

    public init(_ table: String, key: String) {
        self.table = table
        self.key = key
        // Built on every row read (a token and its policies per request): one buffer, no temporary arrays.
        message = []
        message.reserveCapacity(320)
        message.append(contentsOf: "coffer-row-v1".utf8)
        append(0x52, table.utf8)
        append(0x4b, key.utf8)
    }

    private mutating func appendLength(_ count: Int) {
        let count = UInt32(count)
        message.append(UInt8(count >> 24))
        message.append(UInt8(count >> 16 & 0xff))
        message.append(UInt8(count >> 8 & 0xff))
        message.append(UInt8(count & 0xff))
    }

    private mutating func append(_ type: UInt8, _ bytes: some Collection<UInt8>) {
        message.append(type)
        appendLength(bytes.count)
        message.append(contentsOf: bytes)
    }

    private mutating func field(_ name: String, _ type: UInt8, _ bytes: (some Collection<UInt8>)?) {
        append(0x46, name.utf8)
        if let bytes { append(type, bytes) } else { append(0x4e, EmptyCollection<UInt8>()) }
    }

    /// Adds a text field (`nil` is distinct from the empty string).
    public mutating func add(_ name: String, _ value: String?) { field(name, 0x54, value?.utf8) }
    public mutating func add(_ name: String, _ value: Int64?) { field(name, 0x49, value.map { String($0).utf8 }) }
    public mutating func add(_ name: String, _ value: Int?) { add(name, value.map(Int64.init)) }
    public mutating func add(_ name: String, _ value: Bool) { field(name, 0x42, CollectionOfOne<UInt8>(value ? 1 : 0)) }
    public mutating func add(_ name: String, _ value: Date?) { add(name, value?.microsecondsSinceEpoch) }
    public mutating func add(_ name: String, _ value: [UInt8]?) { field(name, 0x58, value) }
    /// Adds a list of strings, each length-prefixed (order matters: sort first when it must not).
    public mutating func add(_ name: String, _ values: [String]) {
        append(0x46, name.utf8)
        message.append(0x4c)
        appendLength(values.reduce(0) { $0 + 4 + $1.utf8.count })
        for value in values {
            appendLength(value.utf8.count)
            message.append(contentsOf: value.utf8)
        }
    }
}

/// A 4-byte big-endian length before the bytes: the framing of every encoded binding and row, so that no two
/// sequences of fields encode alike.
enum LengthPrefix {
    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        let count = UInt32(bytes.count)
        return [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)] + bytes
    }
}

/// A row's authentication tag and the key term it was made under (`auth_term`, `auth_tag` columns).
public struct RowTag: Sendable, Equatable {
    public let term: Int64
    public let tag: [UInt8]

    public init(term: Int64, tag: [UInt8]) {
        self.term = term
        self.tag = tag
    }

    /// The tag read from a row's `auth_term` and `auth_tag` columns; `nil` when either is NULL (never tagged).
    public init?(storedTerm term: Int64?, storedTag tag: [UInt8]?) {
        guard let term, let tag else { return nil }
        self.init(term: term, tag: tag)
    }
}

extension Sealer {
    /// The tag of `row` under the active term's row key (keyed BLAKE2b, 32 bytes).
    public func tag(_ row: AuthenticatedRow) throws -> RowTag {
        guard let key = keyring.activeRowKey else { throw KeysError.sealed }
        return RowTag(term: keyring.activeTerm, tag: try BLAKE2b.hash(row.message, key: key.bytes))
    }

    /// Checks that `tag` authenticates `row` (compared in constant time). A row that fails is reported to the
    /// hierarchy's ``RowIntegrity`` and must not be used.
    /// - Throws: ``KeysError`` `.tampered` naming the table and key (a missing tag, a wrong one, or a term the
    ///   keyring no longer has: a row cannot outlive its term, since rewrap moves every row before a retire).
    public func verify(_ row: AuthenticatedRow, _ tag: RowTag?) throws {
        let key = tag.flatMap { $0.term == keyring.activeTerm ? keyring.activeRowKey : keyring.rowKeys[$0.term] }
        if let tag, let key, ConstantTime.equals(try BLAKE2b.hash(row.message, key: key.bytes), tag.tag) { return }
        let reason =
            tag == nil
            ? "it has no authentication tag"
            : key == nil ? "its key term \(tag!.term) is not in the keyring" : "it was changed outside Coffer"
        keyring.integrity.record(table: row.table, key: row.key)
        throw KeysError(
            .tampered,
            """
            the stored row \(row.table)/\(row.key) failed authentication (\(reason)); it was not used. Restore it from a backup \
            or delete it; see Docs/THREAT_MODEL.md
            """
        )
    }

    /// Whether `tag` authenticates `row`, without reporting a failure (for the audit verifier, which reports
    /// what it finds itself).
    public func isAuthentic(_ row: AuthenticatedRow, _ tag: RowTag) -> Bool {
        guard let key = tag.term == keyring.activeTerm ? keyring.activeRowKey : keyring.rowKeys[tag.term],
            let expected = try? BLAKE2b.hash(row.message, key: key.bytes)
        else { return false }
        return ConstantTime.equals(expected, tag.tag)
    }

    /// Verifies `row` against `tag` and returns `value`: decode, then authenticate, in one expression.
    public func verified<T>(_ value: T, _ row: AuthenticatedRow, _ tag: RowTag?) throws -> T {
        try verify(row, tag)
        return value
    }
}

/// Rows that failed authentication since this process started: counted, and the latest named, for
/// `/v1/sys/health` and the metrics. Shared by every sealer of one hierarchy.
public final class RowIntegrity: Sendable {
    /// One refused row.
    public struct Failure: Sendable, Equatable {
        public let table: String
        public let key: String
        public let time: Date
    }

    private let state = Locked<(count: Int, latest: Failure?)>((0, nil))

    public init() {}

    func record(table: String, key: String) {
        state.withLock { $0 = ($0.count + 1, Failure(table: table, key: key, time: Date())) }
    }

    /// How many rows were refused, and the latest.
    public var failures: (count: Int, latest: Failure?) { state.withLock { $0 } }
}

/// The columns of a table whose rows carry an authentication tag: its own, and the tag's two.
public protocol TaggedColumn: SQLColumn {
    /// `auth_term`: the key term the tag was made under.
    static var authTerm: Self { get }
    /// `auth_tag`.
    static var authTag: Self { get }
}

extension SQLRow {
    /// The row's stored tag, read with the record's columns; `nil` when it was never tagged.
    public func tag<Column: TaggedColumn>(_ columns: Column.Type) throws -> RowTag? {
        RowTag(storedTerm: try decode(Column.authTerm), storedTag: try decode(Column.authTag))
    }
}

/// A record of a table whose rows carry an authentication tag: the fields the tag covers and the tag as stored.
public protocol TaggedRecord: SQLRowDecodable {
    associatedtype Column: TaggedColumn
    /// The fields the tag covers, encoded exactly as the module encodes them when it writes the row.
    var authenticated: AuthenticatedRow { get }
    /// The tag as stored; `nil` when the row was never tagged.
    var tag: RowTag? { get }
}

/// A table whose rows carry an authentication tag, described so that the hierarchy can move tags onto the
/// active term (rewrap) and tag the rows an older release wrote (at the first unseal after the upgrade).
///
/// Made from the table's ``TaggedRecord``: rows are selected with its columns and read back through it, so the
/// fields the hierarchy re-tags are the ones the module tags when it writes. Column names are code, never input:
/// they are interpolated as raw SQL.
public struct AuthenticatedTable: Sendable {
    public let table: String
    /// Whether a row may legitimately have no tag after the upgrade (audit entries written while sealed): rewrap
    /// leaves such rows alone instead of counting them as remaining.
    public let untaggedAllowed: Bool
    /// The select list, from the record's columns.
    private let columns: String
    /// The primary key's columns: their names and their places in the select list.
    private let key: [(name: String, position: Int)]
    /// The record's fields and stored tag, from a row selected with ``columns``.
    let read: @Sendable (SQLRow) throws -> (fields: AuthenticatedRow, tag: RowTag?)

    /// The table `table`, whose rows `Record` reads and whose primary key is `key`.
    public init<Record: TaggedRecord>(_ record: Record.Type, table: String, key: [Record.Column], untaggedAllowed: Bool = false) {
        self.table = table
        self.untaggedAllowed = untaggedAllowed
        columns = Record.Column.selectList
        self.key = key.map { ($0.rawValue, $0.position) }
        read = { row in
            let record = try Record(row: row)
            return (record.authenticated, record.tag)
        }
    }

    /// What rewrap still has to move onto `term`.
    private func stale(_ term: Int64) -> String {
        untaggedAllowed ? "auth_tag IS NOT NULL AND auth_term <> \(term)" : "auth_tag IS NULL OR auth_term <> \(term)"
    }

    /// Rows whose tag is not under `term` (older terms, or none when `untaggedOnly`), at most `limit`.
    func rows(notUnder term: Int64, untaggedOnly: Bool = false, limit: Int, on conn: any SQLConnection) throws -> [SQLRow] {
        let condition = untaggedOnly ? "auth_tag IS NULL" : stale(term)
        return try conn.query("SELECT \(unsafeRaw: columns) FROM \(unsafeRaw: table) WHERE \(unsafeRaw: condition) LIMIT \(limit)")
    }

    /// Replaces the tag of `row` with `fresh` if it still has `old` (a concurrent write wins and is left alone).
    func retag(_ row: SQLRow, from old: RowTag?, to fresh: RowTag, on conn: any SQLConnection) throws -> Int {
        var query: SQLQuery = "UPDATE \(unsafeRaw: table) SET auth_term = \(fresh.term), auth_tag = \(fresh.tag) WHERE "
        for (name, position) in key {
            query.append("\(unsafeRaw: name) = \(try row.decode(SQLValue.self, at: position)) AND ")
        }
        if let old { query.append("auth_tag = \(old.tag)") } else { query.append("auth_tag IS NULL") }
        return try conn.execute(query)
    }

    /// How many rows are not tagged under `term`.
    func count(notUnder term: Int64, on conn: any SQLConnection) throws -> Int {
        try conn.queryScalar(Int.self, "SELECT count(*) FROM \(unsafeRaw: table) WHERE \(unsafeRaw: stale(term))") ?? 0
    }
}
