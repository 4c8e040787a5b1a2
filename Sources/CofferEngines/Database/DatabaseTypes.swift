public import CofferCrypto
public import Foundation

/// A connection of the database engine (`database/config/:name`); the admin password is sealed and never answered.
public struct DatabaseConnection: Sendable, Equatable {
    public let name: String
    public let pluginName: String
    public let connectionURL: String
    public let username: String
    public let allowedRoles: [String]

    public init(name: String, pluginName: String, connectionURL: String, username: String, allowedRoles: [String]) {
        self.name = name
        self.pluginName = pluginName
        self.connectionURL = connectionURL
        self.username = username
        self.allowedRoles = allowedRoles
    }

    /// Whether the connection may serve `role` (Vault's `allowed_roles`, `*` for any): dynamic roles, static
    /// roles and rotation settings are all held to it.
    public func allows(role: String) -> Bool { allowedRoles.contains("*") || allowedRoles.contains(role) }
}

/// A role of the database engine (`database/roles/:name`): how a dynamic credential is made and dropped.
public struct DatabaseRole: Sendable, Equatable {
    public let name: String
    public let dbName: String
    public let creationStatements: [String]
    /// Empty: terminate the role's sessions, drop what it owns, drop the role.
    public let revocationStatements: [String]
    public let defaultTTL: Int64
    public let maxTTL: Int64

    public init(
        name: String, dbName: String, creationStatements: [String], revocationStatements: [String], defaultTTL: Int64, maxTTL: Int64
    ) {
        self.name = name
        self.dbName = dbName
        self.creationStatements = creationStatements
        self.revocationStatements = revocationStatements
        self.defaultTTL = defaultTTL
        self.maxTTL = maxTTL
    }
}

/// A lease on a dynamic credential (`sys/leases/*`).
public struct Lease: Sendable, Equatable {
    public let id: String
    public let roleName: String
    public let dbName: String
    public let username: String
    /// The token that asked for it.
    public let accessor: String
    public let issuedAt: Date
    public let renewedAt: Date?
    public let expiresAt: Date
    public let maxExpiresAt: Date
}

/// A lease as a list shows it: the row, and whether its tag verifies (a row edited underneath the service does not).
public struct LeaseListing: Sendable {
    public let lease: Lease
    public let intact: Bool
}

/// A dynamic credential as handed out: the password only in guarded memory.
public struct IssuedCredential: Sendable {
    public let lease: Lease
    public let username: String
    public let password: SecureHandle
}

/// A connection as a rotator uses it (a static role's): the stored connection and its opened admin password.
public struct AdminConnection: Sendable {
    public let connection: DatabaseConnection
    /// In guarded memory, wiped when the last reference goes.
    public let password: SecureHandle
}
