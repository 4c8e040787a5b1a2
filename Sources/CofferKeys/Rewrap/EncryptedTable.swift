import CofferStore

/// A table whose rows hold values sealed by a ``Sealer``, described so that ``KeyHierarchy/rewrap(_:batchSize:)``
/// can move them onto the newest key term. Each module that stores encrypted columns registers its
/// tables (the credentials store registers `api_credentials`).
///
/// The binding of a row is `RecordBinding(table: bindingTable, id: <idColumn>, version: <versionColumn or 0>)`,
/// which must be the binding the module sealed it with.
public struct EncryptedTable: Sendable {
    public let table: String
    public let bindingTable: String
    public let idColumn: String
    public let versionColumn: String?
    public let termColumn: String
    /// The column of ``EncryptedValue/sealed`` (nonce, ciphertext and tag).
    public let sealedColumn: String

    /// Column names are code, never user input: they are interpolated as raw SQL.
    public init(
        table: String, bindingTable: String? = nil, idColumn: String = "id", versionColumn: String? = "version",
        termColumn: String = "key_term", sealedColumn: String = "sealed"
    ) {
        self.table = table
        self.bindingTable = bindingTable ?? table
        self.idColumn = idColumn
        self.versionColumn = versionColumn
        self.termColumn = termColumn
        self.sealedColumn = sealedColumn
    }
}

extension EncryptedTable {
    /// One sealed value as rewrap reads it: its row's id and version (its binding's) and what it holds.
    struct SealedRecord: Sendable, SQLRowDecodable {
        let id: String
        let version: Int64
        let value: EncryptedValue

        /// The select list ``values(below:limit:on:)`` writes, each column under its alias.
        enum Column: String, SQLColumn { case id, version, term, sealed }

        init(row: SQLRow) throws {
            id = try row.decode(Column.id)
            version = try row.decode(Column.version)
            value = EncryptedValue(term: try row.decode(Column.term), sealed: try row.decode(Column.sealed))
        }
    }

    /// Up to `limit` of the table's values sealed under a term older than `term`, in id order.
    func values(below term: Int64, limit: Int, on conn: any SQLConnection) throws -> [SealedRecord] {
        try conn.query(
            SealedRecord.self,
            """
            SELECT \(unsafeRaw: idColumn) AS id, \(unsafeRaw: versionColumn ?? "0") AS version, \(unsafeRaw: termColumn) AS term,
                   \(unsafeRaw: sealedColumn) AS sealed
            FROM \(unsafeRaw: table) WHERE \(unsafeRaw: termColumn) < \(term)
            ORDER BY \(unsafeRaw: idColumn) LIMIT \(limit)
            """)
    }

    /// The binding `record` was sealed under.
    func binding(of record: SealedRecord) -> RecordBinding {
        RecordBinding(table: bindingTable, id: record.id, version: record.version)
    }
}

/// Where a rewrap stands.
public struct RewrapProgress: Sendable, Equatable {
    /// Records moved onto the active term by this call.
    public let rewrapped: Int
    /// Records still on older terms, across all tables (authentication tags included).
    public let remaining: Int
    /// Row authentication tags moved onto the active term by this call.
    public var retagged: Int = 0
    public let activeTerm: Int64
    /// Terms retired by this call (only when asked and nothing remains on them).
    public let retiredTerms: [Int64]
}
