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
