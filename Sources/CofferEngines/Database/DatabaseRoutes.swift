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
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ConfigAnswer(connection)))
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
            return VaultJSON.response(status: .ok, VaultEnvelope(data: RoleAnswer(role)))
        }
        router.on("/v1/database/roles/:name", method: .delete) { _, context, grant in
            try await engine.deleteRole(grant, try context.parameters.require("name"))
            return Response(status: .noContent)
        }
        router.onList("/v1/database/roles") { _, _, grant in
            return try VaultJSON.keys(try await engine.roles(grant))
        }

        // Dynamic credentials: a lease in the envelope, as Vault answers them.
        router.on("/v1/database/creds/:name", method: .get) { _, context, grant in
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

    struct ConfigBody: Decodable {
        var plugin_name: String?
        var connection_url: String?
        var username: String?
        var password: String?
        var allowed_roles: StringList?
        var verify_connection: Bool?
    }

    struct RoleBody: Decodable {
        var db_name: String?
        var creation_statements: Statements?
        var revocation_statements: Statements?
        var default_ttl: DurationValue?
        var max_ttl: DurationValue?
    }

    struct ConfigAnswer: Encodable {
        struct Details: Encodable {
            let connection_url: String
            let username: String
        }
        let plugin_name: String
        let connection_details: Details
        let allowed_roles: [String]
        // Vault's settings Coffer does not offer, answered as Vault's defaults.
        let password_policy = ""
        let plugin_version = ""
        let root_credentials_rotate_statements: [String] = []

        init(_ connection: DatabaseConnection) {
            plugin_name = connection.pluginName
            connection_details = Details(connection_url: Self.redacted(connection.connectionURL), username: connection.username)
            allowed_roles = connection.allowedRoles
        }

        /// A password written into the URL itself (a connection stored before Coffer refused them) is never
        /// answered, in any of libpq's spellings: the URL is then shown as libpq's options without it. Vault's
        /// `{{password}}` template is answered as written.
        static func redacted(_ url: String) -> String {
            guard let parsed = try? PostgresConnectionString(url) else { return "(not shown: not a connection string libpq reads)" }
            return parsed.holdsPassword ? parsed.redacted : url
        }
    }

    struct RoleAnswer: Encodable {
        let db_name: String
        let creation_statements: [String]
        let revocation_statements: [String]
        let default_ttl: Int64
        let max_ttl: Int64
        // Vault's fields Coffer does not offer: passwords only, no renew or rollback statements.
        let credential_type = "password"
        let renew_statements: [String] = []
        let rollback_statements: [String] = []

        init(_ role: DatabaseRole) {
            db_name = role.dbName
            creation_statements = role.creationStatements
            revocation_statements = role.revocationStatements
            default_ttl = role.defaultTTL
            max_ttl = role.maxTTL
        }
    }
}
