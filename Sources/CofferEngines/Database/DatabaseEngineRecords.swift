import CofferKeys
import CofferStore
import Foundation

// The database engine's rows as stored: one record per table, its columns named once and read by position,
// with the row's tag. A stored row is not usable until `verified(by:)` has checked its tag.

/// A `database_connections` row: the connection, its sealed admin password, and its tag.
struct StoredConnection: TaggedRecord {
    enum Column: String, TaggedColumn {
        case name, pluginName = "plugin_name", connectionURL = "connection_url", username, allowedRoles = "allowed_roles"
        case keyTerm = "key_term", sealed, authTerm = "auth_term", authTag = "auth_tag"
    }

    let connection: DatabaseConnection
    /// The admin password, sealed; opened only after the connection is verified.
    let password: EncryptedValue
    let tag: RowTag?

    init(row: SQLRow) throws {
        connection = DatabaseConnection(
            name: try row.decode(Column.name), pluginName: try row.decode(Column.pluginName),
            connectionURL: try row.decode(Column.connectionURL), username: try row.decode(Column.username),
            allowedRoles: Self.list(try row.decode(Column.allowedRoles)))
        password = EncryptedValue(term: try row.decode(Column.keyTerm), sealed: try row.decode(Column.sealed))
        tag = try row.tag(Column.self)
    }

    /// The connection, once its tag shows that no one changed where it points or as whom.
    func verified(by sealer: Sealer) throws -> DatabaseConnection {
        try sealer.verified(connection, authenticated, tag)
    }

    var authenticated: AuthenticatedRow { DatabaseEngine.authenticated(connection) }

    /// A JSON array of strings as stored (roles, statements); what does not parse as one is an empty list.
    static func list(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}

/// A `database_roles` row and its tag.
struct StoredRole: TaggedRecord {
    enum Column: String, TaggedColumn {
        case name, dbName = "db_name", creationStatements = "creation_statements", revocationStatements = "revocation_statements"
        case defaultTTL = "default_ttl", maxTTL = "max_ttl", authTerm = "auth_term", authTag = "auth_tag"
    }

    let role: DatabaseRole
    let tag: RowTag?

    init(row: SQLRow) throws {
        role = DatabaseRole(
            name: try row.decode(Column.name), dbName: try row.decode(Column.dbName),
            creationStatements: StoredConnection.list(try row.decode(Column.creationStatements)),
            revocationStatements: StoredConnection.list(try row.decode(Column.revocationStatements)),
            defaultTTL: try row.decode(Column.defaultTTL), maxTTL: try row.decode(Column.maxTTL))
        tag = try row.tag(Column.self)
    }

    /// The role, once its tag shows that its statements and TTLs are the ones written through Coffer.
    func verified(by sealer: Sealer) throws -> DatabaseRole {
        try sealer.verified(role, authenticated, tag)
    }

    var authenticated: AuthenticatedRow { DatabaseEngine.authenticated(role) }
}

/// A `leases` row and its tag (the reaper's bookkeeping columns are not read here).
struct StoredLease: TaggedRecord {
    enum Column: String, TaggedColumn {
        case id = "lease_id", roleName = "role_name", dbName = "db_name", username, accessor, issuedAt = "issued_at"
        case renewedAt = "renewed_at", expiresAt = "expires_at", maxExpiresAt = "max_expires_at", authTerm = "auth_term"
        case authTag = "auth_tag"
    }

    let lease: Lease
    let tag: RowTag?

    init(row: SQLRow) throws {
        lease = Lease(
            id: try row.decode(Column.id), roleName: try row.decode(Column.roleName), dbName: try row.decode(Column.dbName),
            username: try row.decode(Column.username), accessor: try row.decode(Column.accessor),
            issuedAt: try row.decode(Column.issuedAt), renewedAt: try row.decode(Column.renewedAt),
            expiresAt: try row.decode(Column.expiresAt), maxExpiresAt: try row.decode(Column.maxExpiresAt))
        tag = try row.tag(Column.self)
    }

    /// The lease, once its tag shows whose it is, which role it drops and until when it lives.
    func verified(by sealer: Sealer) throws -> Lease {
        try sealer.verified(lease, authenticated, tag)
    }

    var authenticated: AuthenticatedRow { DatabaseEngine.authenticated(lease, accessor: lease.accessor) }
}
