import CofferAccess
import CofferCrypto
import CofferFoundation
public import CofferHTTP
import CofferStore
import Foundation
import HTTPTypes
import Hummingbird

/// Vault's database secrets engine (`database/config`, `database/roles`, `database/creds`), in Vault's paths
/// and shapes so hvac's `secrets.database` works. Policy paths are Vault's. The leases it issues are served by
/// ``LeaseRoutes``.
public struct DatabaseRoutes: Sendable {
    let engine: DatabaseEngine

    /// The routes of the engine's dynamic side; static roles are rotation's (CofferRotation's `StaticRoleRoutes`).
    public init(engine: DatabaseEngine) { self.engine = engine }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        // Connections.
        router.onWrite("/v1/database/config/:name", operation: .write) { request, context, grant in
            let body = try await Body.decode(ConfigBody.self, request, context)
            let connection = DatabaseConnection(
                name: try context.parameters.require("name"), pluginName: body.plugin_name ?? "",
                connectionURL: body.connection_url ?? "", username: body.username ?? "",
                allowedRoles: body.allowed_roles?.items ?? [])
            try await engine.writeConnection(grant, connection, password: body.password)
            return Response(status: .noContent)
        }
        router.on("/v1/database/config/:name", method: .get) { _, context, grant in
            let connection = try await engine.connection(grant, try context.parameters.require("name"))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: connection))
        }
        router.on("/v1/database/config/:name", method: .delete) { _, context, grant in
            try await engine.deleteConnection(grant, try context.parameters.require("name"))
            return Response(status: .noContent)
        }
        router.onList("/v1/database/config") { _, _, grant in
            return try VaultJSON.keys(try await engine.connections(grant))
        }

        // Roles.
        router.onWrite("/v1/database/roles/:name", operation: .write) { request, context, grant in
            let body = try await Body.decode(RoleBody.self, request, context)
            let role = DatabaseRole(
                name: try context.parameters.require("name"), dbName: body.db_name ?? "",
                creationStatements: body.creation_statements?.values ?? [],
                revocationStatements: body.revocation_statements?.values ?? [],
                defaultTTL: try body.default_ttl.map { try Duration.seconds(of: $0, field: "default_ttl") } ?? 0,
                maxTTL: try body.max_ttl.map { try Duration.seconds(of: $0, field: "max_ttl") } ?? 0)
            guard !role.dbName.isEmpty else {
                throw APIError(.badRequest, "db_name is required: the connection (database/config/:name) the role uses")
            }
            try await engine.writeRole(grant, role)
            return Response(status: .noContent)
        }
        router.on("/v1/database/roles/:name", method: .get) { _, context, grant in
            let role = try await engine.role(grant, try context.parameters.require("name"))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: role))
        }
        router.on("/v1/database/roles/:name", method: .delete) { _, context, grant in
            try await engine.deleteRole(grant, try context.parameters.require("name"))
            return Response(status: .noContent)
        }
        router.onList("/v1/database/roles") { _, _, grant in
            return try VaultJSON.keys(try await engine.roles(grant))
        }

        // Dynamic credentials: a lease in the envelope, as Vault answers them.
        // A read in Vault's ACL that creates a user and a lease: its role is read on the primary, never a replica.
        router.on("/v1/database/creds/:name", method: .get, replicaReads: false) { _, context, grant in
            let issued = try await engine.issue(grant, role: try context.parameters.require("name"))
            let password = issued.password.bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            return VaultJSON.response(
                status: .ok,
                LeaseRoutes.Envelope(
                    lease_id: issued.lease.id, renewable: true,
                    lease_duration: VaultTime.seconds(from: issued.lease.issuedAt, to: issued.lease.expiresAt),
                    data: ["username": issued.username, "password": password], warnings: nil))
        }

    }

    package struct ConfigBody: Decodable {
        var plugin_name: String?
        var connection_url: String?
        var username: String?
        var password: String?
        var allowed_roles: StringList?
        var verify_connection: Bool?
    }

    package struct RoleBody: Decodable {
        var db_name: String?
        var creation_statements: Statements?
        var revocation_statements: Statements?
        var default_ttl: DurationValue?
        var max_ttl: DurationValue?
    }
}

/// `database/config/:name` as Vault answers it; the admin password is never part of it.
extension DatabaseConnection: Encodable {
    private enum CodingKeys: String, CodingKey {
        case pluginName = "plugin_name", connectionDetails = "connection_details", allowedRoles = "allowed_roles"
        case passwordPolicy = "password_policy", pluginVersion = "plugin_version"
        case rootRotateStatements = "root_credentials_rotate_statements"
    }

    private enum DetailKeys: String, CodingKey { case connectionURL = "connection_url", username }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pluginName, forKey: .pluginName)
        var details = container.nestedContainer(keyedBy: DetailKeys.self, forKey: .connectionDetails)
        try details.encode(Self.redacted(connectionURL), forKey: .connectionURL)
        try details.encode(username, forKey: .username)
        try container.encode(allowedRoles, forKey: .allowedRoles)
        // Vault's settings Coffer does not offer, answered as Vault's defaults.
        try container.encode("", forKey: .passwordPolicy)
        try container.encode("", forKey: .pluginVersion)
        try container.encode([String](), forKey: .rootRotateStatements)
    }

    /// A password written into the URL itself (a connection stored before Coffer refused them) is never
    /// answered, in any of libpq's spellings: the URL is then shown as libpq's options without it. Vault's
    /// `{{password}}` template is answered as written.
    static func redacted(_ url: String) -> String {
        guard let parsed = try? PostgresConnectionString(url) else { return "(not shown: not a connection string libpq reads)" }
        return parsed.holdsPassword ? parsed.redacted : url
    }
}

/// `database/roles/:name` as Vault answers it.
extension DatabaseRole: Encodable {
    private enum CodingKeys: String, CodingKey {
        case dbName = "db_name", creationStatements = "creation_statements", revocationStatements = "revocation_statements"
        case defaultTTL = "default_ttl", maxTTL = "max_ttl", credentialType = "credential_type"
        case renewStatements = "renew_statements", rollbackStatements = "rollback_statements"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(dbName, forKey: .dbName)
        try container.encode(creationStatements, forKey: .creationStatements)
        try container.encode(revocationStatements, forKey: .revocationStatements)
        try container.encode(defaultTTL, forKey: .defaultTTL)
        try container.encode(maxTTL, forKey: .maxTTL)
        // Vault's fields Coffer does not offer: passwords only, no renew or rollback statements.
        try container.encode("password", forKey: .credentialType)
        try container.encode([String](), forKey: .renewStatements)
        try container.encode([String](), forKey: .rollbackStatements)
    }
}
