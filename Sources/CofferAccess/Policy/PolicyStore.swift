import CofferFoundation
public import CofferKeys
public import CofferStore
import Foundation

/// ACL policies kept in the database (`policies`), with the built-in `root` and a `default` that exists
/// from the start. Policies are parsed when written, so a policy that does not parse is refused with its
/// line and column and nothing stored changes.
///
/// Every request reads the texts of its token's policies (one indexed query, in the same read as the token);
/// parsing and compiling is cached by text, so a change made by any instance applies at once to live tokens.
///
/// Each row carries an authentication tag over its name and text: a policy edited in the database is
/// refused (and the request that needed it with it), never applied.
public final class PolicyStore: Sendable {
    let database: any Database
    let keys: KeyHierarchy
    private let compiled = Locked<[String: ACL]>([:])

    public init(database: any Database, keys: KeyHierarchy) {
        self.database = database
        self.keys = keys
    }

    /// The default policy written into an empty database: the same rules as Policies/default.hcl (a test
    /// keeps the two equal), so a fresh install works before `coffer policy apply`.
    public static let defaultText = """
        # default: what every token may do with itself (Vault's default policy, the token part).
        path "auth/token/lookup-self" {
          capabilities = ["read"]
        }

        path "auth/token/renew-self" {
          capabilities = ["update"]
        }

        path "auth/token/revoke-self" {
          capabilities = ["update"]
        }

        # Unwrapping a response-wrapped secret handed to this token.
        path "sys/wrapping/unwrap" {
          capabilities = ["update"]
        }

        # What this token may do on paths it asks about (Vault's default policy allows it too).
        path "sys/capabilities-self" {
          capabilities = ["update"]
        }

        """

    /// Names a policy may have: letters, digits, `-`, `_`, `.`, up to 128 characters.
    public static func validate(name: String) throws {
        guard PlainName.isValid(name, maximum: 128) else {
            throw AccessError(.invalidRequest, "a policy name is 1 to 128 letters, digits, '-', '_' or '.'; \"\(name.prefix(40))\" is not")
        }
    }

    /// Writes `default` into a database that was never initialised (its first start). The row is tagged with
    /// the others at the first unseal after `init`; later, a `default` deleted by SQL stays deleted (a row
    /// written while sealed could not be tagged, and would be refused).
    public func ensureDefault() async throws {
        guard await !keys.status.initialized else { return }
        let text = Self.defaultText
        let now = WallClock.now
        try await database.execute(
            """
            INSERT INTO policies (name, text, updated_at) VALUES (\(Policy.defaultName), \(text), \(now))
            ON CONFLICT (name) DO NOTHING
            """)
    }

    /// The names of every stored policy and `root`, sorted.
    public func list() async throws -> [String] {
        let names = try await database.query("SELECT name FROM policies").map { try $0.decode(String.self, at: 0) }
        return Array(Set(names + [Policy.rootName])).sorted()
    }

    /// The text of `name` as it was written, or `nil`. `root` has no text.
    public func read(_ name: String) async throws -> String? {
        let name = Policy.canonicalName(name)
        let sealer = try keys.sealer()
        return try await database.read { try Self.text(of: name, sealer: sealer, on: $0) }
    }

    /// The stored text of `name`, authenticated, or `nil` when there is none.
    /// - Throws: ``KeysError`` `.tampered` when the row fails authentication.
    static func text(of name: String, sealer: Sealer, on conn: any SQLConnection) throws -> String? {
        try texts(of: [name], sealer: sealer, on: conn).first?.1
    }

    /// A policy row's fields, for its tag.
    static func authenticated(name: String, text: String) -> AuthenticatedRow {
        var row = AuthenticatedRow("policies", key: name)
        row.add("text", text)
        return row
    }

    /// The table as ``KeyHierarchy`` sees it.
    public static let authenticatedTable = AuthenticatedTable(PolicyRecord.self, table: "policies", key: [.name])

    /// Parses and stores `text` as `name`, as `grant` allows: `create` for a new policy, `update` to replace one
    /// (decided by existence in the same transaction, as Vault does; `create` alone never overwrites).
    /// - Returns: whether the stored text changed.
    /// - Throws: ``AccessError`` `.invalidRequest` for `root`, a bad name, or a policy that does not parse
    ///   (with line and column); `.permissionDenied` when the grant lacks `create` or `update` as needed;
    ///   nothing is stored then.
    /// - Parameter decidedAt: the path the write is decided on (`sys/policies/acl/<name>` with the name in lower
    ///   case); the grant's own path when `nil`.
    @discardableResult
    public func write(_ grant: Grant, _ name: String, text: String, decidedAt: String? = nil) async throws -> Bool {
        let name = Policy.canonicalName(name)
        try Self.validate(name: name)
        guard name != Policy.rootName else { throw AccessError(.invalidRequest, "cannot update \"root\" policy") }
        do { _ = try PolicyParser.parse(name: name, text: text) } catch let error as PolicyError {
            throw AccessError(.invalidRequest, "failed to parse policy: \(error.description)")
        }
        let now = WallClock.now
        let sealer = try keys.sealer()
        let tag = try sealer.tag(Self.authenticated(name: name, text: text))
        return try await database.transaction { conn in
            // A stored row that fails authentication exists and is replaced by this write (it needs `update`).
            let stored: String?, exists: Bool
            do {
                stored = try Self.text(of: name, sealer: sealer, on: conn)
                exists = stored != nil
            } catch let error where KeysError.Code.tampered ~= error {
                (stored, exists) = (nil, true)
            }
            try grant.require(exists ? .update : .create, on: decidedAt ?? grant.path)
            if stored == text { return false }
            try conn.execute(
                """
                INSERT INTO policies (name, text, updated_at, auth_term, auth_tag) VALUES (\(name), \(text), \(now), \(tag.term),
                \(tag.tag))
                ON CONFLICT (name) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at,
                                                 auth_term = excluded.auth_term, auth_tag = excluded.auth_tag
                """)
            return true
        }
    }

    /// Deletes `name` (absent is fine, as in Vault).
    /// - Throws: ``AccessError`` `.invalidRequest` for `root` and `default`.
    public func delete(_ grant: Grant, _ name: String) async throws {
        let name = Policy.canonicalName(name)
        guard name != Policy.rootName, name != Policy.defaultName else {
            throw AccessError(.invalidRequest, "cannot delete \"\(name)\" policy")
        }
        try await database.execute("DELETE FROM policies WHERE name = \(name)")
    }

    /// The texts of `names` (those that exist), in the token's order, read on `connection` so a request sees one
    /// snapshot. One statement for all of them: a round trip per request, not one per policy.
    /// - Throws: ``KeysError`` `.tampered` when one of them fails authentication: the request is refused,
    ///   since leaving that policy out could drop a deny rule.
    static func texts(of names: [String], sealer: Sealer, on connection: any SQLConnection) throws -> [(String, String)] {
        let wanted = names.filter { $0 != Policy.rootName }
        guard !wanted.isEmpty else { return [] }
        var stored: [String: String] = [:]
        try connection.forEachRow(
            "SELECT \(columns: PolicyRecord.Column.self) FROM policies WHERE name IN (\(SQLQuery.list(wanted)))"
        ) { row in
            let record = try PolicyRecord(row: row)
            try sealer.verify(record.authenticated, record.tag)
            stored[record.name] = record.text
        }
        return wanted.compactMap { name in stored[name].map { (name, $0) } }
    }

    /// The compiled ACL of a token with `names`, given their current `texts`. A name without a stored
    /// policy contributes nothing (Vault ignores unknown policy names on tokens).
    func acl(names: [String], texts: [(String, String)]) -> ACL {
        let isRoot = names.contains(Policy.rootName)
        var key = isRoot ? "root\u{0}" : ""
        for (name, text) in texts { key += name + "\u{0}" + text + "\u{0}" }
        if let cached = compiled.withLock({ $0[key] }) { return cached }
        var policies = isRoot ? [Policy.root] : []
        // Stored texts were parsed when written; one that no longer parses (edited by SQL) grants nothing.
        policies += texts.compactMap { try? PolicyParser.parse(name: $0.0, text: $0.1) }
        let acl = ACL(policies: policies)
        compiled.withLock { cache in
            if cache.count > 1024 { cache.removeAll() }
            cache[key] = acl
        }
        return acl
    }
}

/// A `policies` row: the policy's text and its tag (checked before the text is used).
struct PolicyRecord: TaggedRecord {
    let name: String
    let text: String
    let tag: RowTag?

    /// The columns of `policies` a policy is read from.
    enum Column: String, TaggedColumn { case name, text, authTerm = "auth_term", authTag = "auth_tag" }

    init(row: SQLRow) throws {
        name = try row.decode(Column.name)
        text = try row.decode(Column.text)
        tag = try row.tag(Column.self)
    }

    var authenticated: AuthenticatedRow { PolicyStore.authenticated(name: name, text: text) }
}
