import CofferAccess
import CofferCredentials
import CofferCrypto
import CofferFoundation
import CofferHTTP
import CofferRotation
import CofferStore
import Foundation
import HTTPTypes
import Hummingbird

/// Vault's database secrets engine (`database/config`, `database/roles`, `database/creds`) and its leases
/// (`sys/leases/lookup|renew|revoke|revoke-prefix`), in Vault's paths and shapes so hvac's
/// `secrets.database` and `sys.*_lease` work. Policy paths are Vault's.
struct DatabaseRoutes: Sendable {
    let engine: DatabaseEngine
    let credentials: CredentialStore
    let rotation: RotationEngine

    /// Static roles live as credentials in this engine, rotated by `postgres-password`.
    static let staticMount = "database-static"
    /// The engine's authority over that mount, delegated from the grant the Gate gave on `database/…`: the
    /// caller's policies name `database/static-roles/*`, never the mount the engine keeps them in.
    static let storage = DelegatedAuthority(
        name: "database-static-roles",
        policyText: """
            path "database-static/*" {
              capabilities = ["create", "read", "update", "delete", "list"]
            }
            """)

    func register(on router: GatedRouter) {
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
                LeaseEnvelope(
                    lease_id: issued.lease.id, renewable: true,
                    lease_duration: Self.seconds(from: issued.lease.issuedAt, to: issued.lease.expiresAt),
                    data: ["username": issued.username, "password": password], warnings: nil))
        }

        registerStaticRoles(on: router)

        // Leases. Listing them by prefix needs sudo, as in Vault.
        for path in ["/v1/sys/leases/lookup", "/v1/sys/leases/lookup/**"] {
            router.onList(path, access: .sudo) { _, _, grant in
                let prefix = String(grant.path.dropFirst("sys/leases/lookup".count).drop { $0 == "/" })
                let keys = try await engine.leaseKeys(grant, prefix: prefix)
                guard !keys.isEmpty else { throw APIError.missing }
                return try VaultJSON.keys(keys)
            }
        }
        router.onWrite("/v1/sys/leases/lookup", operation: .update) { request, context, grant in
            let body = try await Body.decode(LeaseBody.self, request, context)
            let lease = try await engine.lookup(grant, lease: try body.required())
            return VaultJSON.response(status: .ok, VaultEnvelope(data: LookupAnswer(lease)))
        }
        router.onWrite("/v1/sys/leases/renew", operation: .update) { request, context, grant in
            let body = try await Body.decode(LeaseBody.self, request, context)
            let increment = try body.increment.map { try Duration.seconds(of: $0, field: "increment") }
            let (lease, warning) = try await engine.renew(grant, lease: try body.required(), increment: increment)
            return VaultJSON.response(
                status: .ok,
                LeaseEnvelope<NoData>(
                    lease_id: lease.id, renewable: true,
                    lease_duration: Self.seconds(from: lease.renewedAt ?? lease.issuedAt, to: lease.expiresAt),
                    data: nil, warnings: warning.map { [$0] }))
        }
        router.onWrite("/v1/sys/leases/revoke", operation: .update) { request, context, grant in
            let body = try await Body.decode(LeaseBody.self, request, context)
            try await engine.revoke(grant, lease: try body.required())
            return Response(status: .noContent)
        }
        // Vault's URL form, which its CLI's `lease revoke` uses: the lease ID in the path.
        router.onWrite("/v1/sys/leases/revoke/**", operation: .update) { _, _, grant in
            try await engine.revoke(grant, lease: String(grant.path.dropFirst("sys/leases/revoke/".count)))
            return Response(status: .noContent)
        }
        router.onWrite("/v1/sys/leases/revoke-prefix/**", access: .sudo, operation: .update) { _, _, grant in
            let prefix = String(grant.path.dropFirst("sys/leases/revoke-prefix/".count))
            _ = try await engine.revoke(grant, prefix: prefix)
            return Response(status: .noContent)
        }
    }

    static func seconds(until date: Date) -> Int64 { max(0, Int64(date.timeIntervalSinceNow.rounded())) }

    /// A lease's TTL as granted (Vault answers the TTL it set, not what is left by the time the answer is written).
    static func seconds(from start: Date, to end: Date) -> Int64 { max(0, Int64(end.timeIntervalSince(start).rounded())) }

    /// `database/static-roles`, `static-creds`, `rotate-role`: an existing PostgreSQL role whose password
    /// Coffer rotates on a period (the `postgres-password` rotator over the named connection).
    private func registerStaticRoles(on router: GatedRouter) {
        router.onWrite("/v1/database/static-roles/:name", operation: .write) { request, context, grant in
            let name = try context.parameters.require("name")
            let body = try await Body.decode(StaticRoleBody.self, request, context)
            guard let dbName = body.db_name, !dbName.isEmpty, let username = body.username, !username.isEmpty else {
                throw APIError(.badRequest, "db_name and username are required")
            }
            let period = try body.rotation_period.map { try Duration.seconds(of: $0, field: "rotation_period") } ?? 86_400
            guard period >= 5 else { throw APIError(.badRequest, "rotation_period must be at least 5 seconds") }
            let connection = try await engine.connection(grant, dbName)
            // Vault: a connection serves only the roles in its allowed_roles, static roles included.
            guard connection.allows(role: name) else {
                throw APIError(
                    .badRequest,
                    "the connection \(dbName) does not allow the role \(name): add it to allowed_roles of database/config/\(dbName)")
            }
            var object: [String: JSONValue] = ["db_name": .string(dbName), "role": .string(name)]
            if let statements = body.rotation_statements?.values, !statements.isEmpty {
                object["rotation_statements"] = .array(statements.map(JSONValue.string))
            }
            let settings = JSONValue.object(object)
            do { _ = try PostgresPasswordRotator(settings: settings) } catch let error as RotationError {
                throw APIError(.badRequest, error.description)
            }
            let path = try SecretPath(mount: Self.staticMount, path: name)
            let stored = grant.delegated(to: Self.storage)
            let existing: String? =
                switch try? await credentials.read(stored, path) {
                case .found(let secret)?: PostgresRoleField.username(secret.data)
                default: nil
                }
            if let existing, existing != username {
                throw APIError(.badRequest, "the static role \(name) manages \(existing); delete it to manage another role")
            }
            try grant.requireWrite(exists: existing != nil) // create vs update of the static role, by the caller's policies
            if existing == nil {
                let data = try JSONValue.object(["username": .string(username)]).encoded()
                _ = try await credentials.write(stored, path, data: SecureHandle(SecureBytes(copying: Array(data))), cas: nil)
            }
            try await credentials.writeMetadata(
                stored, path,
                MetadataUpdate(
                    rotationInterval: period, rotationKind: .some("postgres-password"),
                    rotationSettings: .some(String(decoding: try settings.encoded(), as: UTF8.self))), merge: false)
            if existing == nil {
                // As Vault does: the password is rotated at once, so only Coffer knows it.
                let outcome = try await rotation.run(stored, only: path, authorised: true).first
                guard outcome?.result == .rotated else {
                    try? await credentials.deleteMetadata(stored, path)
                    throw APIError(.badRequest, "the first rotation of \(username) failed: \(outcome?.error ?? "unknown error")")
                }
            }
            return Response(status: .noContent)
        }
        router.on("/v1/database/static-roles/:name", method: .get) { _, context, grant in
            let path = try SecretPath(mount: Self.staticMount, path: try context.parameters.require("name"))
            let (metadata, username) = try await staticRole(grant.delegated(to: Self.storage), path)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: StaticRoleAnswer(metadata, username: username)))
        }
        router.on("/v1/database/static-roles/:name", method: .delete) { _, context, grant in
            try await credentials.deleteMetadata(
                grant.delegated(to: Self.storage), try SecretPath(mount: Self.staticMount, path: try context.parameters.require("name")))
            return Response(status: .noContent)
        }
        router.onList("/v1/database/static-roles") { _, _, grant in
            let names = try await credentials.list(grant.delegated(to: Self.storage), mount: Self.staticMount, folder: "")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["keys": names]))
        }
        router.on("/v1/database/static-creds/:name", method: .get) { _, context, grant in
            let path = try SecretPath(mount: Self.staticMount, path: try context.parameters.require("name"))
            let stored = grant.delegated(to: Self.storage)
            let metadata = try await credentials.rotationMetadata(stored, path)
            guard case .found(let secret) = try await credentials.read(stored, path) else { throw APIError.missing }
            grant.auditSensitive("data", secret: secret.data)
            guard let username = PostgresRoleField.username(secret.data), let password = PostgresRoleField.password(secret.data) else {
                throw APIError(.badRequest, "the static role has no password yet: rotate it (database/rotate-role/\(path.path))")
            }
            return VaultJSON.response(
                status: .ok,
                VaultEnvelope(
                    data: StaticCredsAnswer(
                        username: username, password: password, last_vault_rotation: VaultTime.format(metadata.rotation.lastRotatedAt),
                        rotation_period: metadata.rotation.interval, ttl: metadata.rotation.nextDueAt.map(Self.seconds(until:)) ?? 0)))
        }
        router.onWrite("/v1/database/rotate-role/:name") { _, context, grant in
            let path = try SecretPath(mount: Self.staticMount, path: try context.parameters.require("name"))
            let outcome = try await rotation.run(grant.delegated(to: Self.storage), only: path, authorised: true).first
            guard outcome?.result == .rotated else {
                throw APIError(
                    .badRequest, "the rotation failed: \(outcome?.error ?? "unknown error"); the current password still works")
            }
            return Response(status: .noContent)
        }
    }

    private func staticRole(_ grant: Grant, _ path: SecretPath) async throws -> (SecretMetadata, String) {
        let metadata = try await credentials.rotationMetadata(grant, path)
        guard case .found(let secret) = try await credentials.read(grant, path), let username = PostgresRoleField.username(secret.data)
        else {
            throw APIError.missing
        }
        return (metadata, username)
    }

    /// Fields of a static role's data.
    enum PostgresRoleField {
        static func username(_ data: SecureHandle) -> String? { field(data, "username") }
        static func password(_ data: SecureHandle) -> String? { field(data, "password") }

        private static func field(_ data: SecureHandle, _ key: String) -> String? {
            guard case .object(let object)? = data.bytes.withUnsafeBytes({ JSONValue.parse($0) }), case .string(let value)? = object[key]
            else { return nil }
            return value
        }
    }

    struct StaticRoleBody: Decodable {
        var db_name: String?
        var username: String?
        var rotation_period: DurationValue?
        var rotation_statements: Strings?
    }

    struct StaticRoleAnswer: Encodable {
        let db_name: String
        let username: String
        let rotation_period: Int64
        let last_vault_rotation: String

        init(_ metadata: SecretMetadata, username: String) {
            let settings = metadata.rotation.settings.flatMap { JSONValue.parse(Array($0.utf8)) }
            db_name = if case .object(let object)? = settings, case .string(let name)? = object["db_name"] { name } else { "" }
            self.username = username
            rotation_period = metadata.rotation.interval
            last_vault_rotation = VaultTime.format(metadata.rotation.lastRotatedAt)
        }
    }

    struct StaticCredsAnswer: Encodable {
        let username: String
        let password: String
        let last_vault_rotation: String
        let rotation_period: Int64
        let ttl: Int64
    }

    /// A string or a list of strings (Vault takes both for statements and allowed_roles).
    struct Strings: Decodable {
        let values: [String]
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let list = try? container.decode([String].self) {
                values = list
            } else {
                let text = try container.decode(String.self)
                values = text.isEmpty ? [] : [text]
            }
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
        var creation_statements: Strings?
        var revocation_statements: Strings?
        var default_ttl: DurationValue?
        var max_ttl: DurationValue?
    }

    struct LeaseBody: Decodable {
        var lease_id: String?
        var increment: DurationValue?

        func required() throws -> String {
            guard let lease_id, !lease_id.isEmpty else { throw APIError(.badRequest, "lease_id is required") }
            return lease_id
        }
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

    struct LookupAnswer: Encodable {
        let id: String
        let issue_time: String
        let expire_time: String
        @EncodesNull var last_renewal: String?
        let renewable: Bool
        let ttl: Int64
        /// Where it was issued, as Vault gives it.
        let path: String

        init(_ lease: Lease) {
            id = lease.id
            path = "database/creds/" + lease.roleName
            issue_time = VaultTime.format(lease.issuedAt)
            expire_time = VaultTime.format(lease.expiresAt)
            last_renewal = lease.renewedAt.map { VaultTime.format($0) }
            renewable = lease.expiresAt < lease.maxExpiresAt
            ttl = DatabaseRoutes.seconds(until: lease.expiresAt)
        }
    }

    /// Vault's envelope for an answer under a lease.
    struct LeaseEnvelope<D: Encodable>: Encodable {
        let request_id = RequestScope.id
        let lease_id: String
        let renewable: Bool
        let lease_duration: Int64
        @EncodesNull var data: D?
        @EncodesNull var wrap_info: NoData? = nil
        @EncodesNull var warnings: [String]?
        @EncodesNull var auth: NoData? = nil
    }
}
