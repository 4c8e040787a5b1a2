import CofferAccess
import CofferCrypto
public import CofferEngines
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// Vault's static roles of the database engine (`database/static-roles`, `static-creds`, `rotate-role`): an
/// existing PostgreSQL role whose password Coffer rotates on a period with the `postgres-password` rotator over
/// the named connection. They are rotation's routes: each static role is a credential the rotation engine rotates,
/// kept in a mount of its own (the engine's dynamic side is CofferEngines' `DatabaseRoutes`).
public struct StaticRoleRoutes: Sendable {
    let databases: DatabaseEngine
    let credentials: CredentialStore
    let rotation: RotationEngine

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(databases: DatabaseEngine, credentials: CredentialStore, rotation: RotationEngine) {
        self.databases = databases
        self.credentials = credentials
        self.rotation = rotation
    }

    /// The mount static roles are kept in, as credentials.
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

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.onWrite("/v1/database/static-roles/:name", operation: .write) { request, context, grant in
            let name = try context.parameters.require("name")
            let body = try await Body.decode(StaticRoleBody.self, request, context)
            guard let dbName = body.db_name, !dbName.isEmpty, let username = body.username, !username.isEmpty else {
                throw APIError(.badRequest, "db_name and username are required")
            }
            let period = try body.rotation_period.map { try Duration.seconds(of: $0, field: "rotation_period") } ?? 86_400
            guard period >= 5 else { throw APIError(.badRequest, "rotation_period must be at least 5 seconds") }
            let connection = try await databases.connection(grant, dbName)
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
            do { _ = try PostgresPasswordRotator(settings: settings, limits: RotatorLimits()) } catch let error as RotationError {
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
        // The password a rotation just set on the target: a standby a moment behind would hand out the old one,
        // which the target no longer accepts; read on the primary.
        router.on("/v1/database/static-creds/:name", method: .get, replicaReads: false) { _, context, grant in
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
                        rotation_period: metadata.rotation.interval, ttl: metadata.rotation.nextDueAt.map(VaultTime.seconds(until:)) ?? 0)))
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

    package struct StaticRoleBody: Decodable {
        var db_name: String?
        var username: String?
        var rotation_period: DurationValue?
        var rotation_statements: Statements?
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
}
