import CofferCrypto
import CofferFoundation
public import CofferStore
public import Foundation

/// An auth method enabled at a path under `auth/` (AppRole, the one type Coffer offers beside the built-in
/// token method).
public struct AuthMount: Sendable, Equatable {
    public let path: String
    public let type: String
    public let accessor: String
    public let uuid: String
    public var description: String
    public let createdAt: Date

    /// The path form Vault uses in `sys/auth` answers: `approle/`.
    public var key: String { path + "/" }
    /// Where its logins are made, and the `path` of the tokens they issue.
    public var loginPath: String { "auth/\(path)/login" }
}

/// The auth methods enabled through `sys/auth`. Paths are one segment of letters, digits, `-`, `_`, `.`;
/// `token` is the built-in token method's.
public struct AuthMountStore: Sendable {
    let database: any Database

    /// The auth method types `sys/auth` enables.
    public static let types: Set<String> = ["approle"]

    init(database: any Database) {
        self.database = database
    }

    public func list() async throws -> [AuthMount] {
        try await database.read { conn in
            try conn.query(AuthMount.self, "SELECT \(columns: AuthMount.Column.self) FROM auth_mounts ORDER BY path")
        }
    }

    public func mount(_ path: String) async throws -> AuthMount? {
        try await database.read { conn in try Self.find(path, on: conn) }
    }

    static func find(_ path: String, on conn: any SQLConnection) throws -> AuthMount? {
        try conn.query(AuthMount.self, "SELECT \(columns: AuthMount.Column.self) FROM auth_mounts WHERE path = \(path)").first
    }

    /// The AppRole method at `path`, or Vault's 404 for a path no method is enabled at.
    static func requireAppRole(_ path: String, on conn: any SQLConnection) throws -> AuthMount {
        guard let mount = try find(path, on: conn), mount.type == "approle" else {
            throw AccessError(.notFound, "no handler for route \"auth/\(path)\": no auth method is enabled there (see sys/auth)")
        }
        return mount
    }

    /// Enables an auth method of `type` at `path`.
    /// - Throws: ``AccessError`` `.invalidRequest` for an unknown type, a bad or reserved path, or one in use.
    public func enable(_ grant: Grant, path raw: String, type: String, description: String) async throws {
        guard Self.types.contains(type) else {
            throw AccessError(
                .invalidRequest, "no auth method of type \"\(type)\": Coffer offers approle (and the built-in token method at auth/token/)")
        }
        let path = try Self.validatedPath(raw)
        let accessor = "auth_\(type)_" + Hex.encode(Random.bytes(4))
        let uuid = UUID().uuidString.lowercased()
        let now = WallClock.now.roundedToStoredPrecision
        try await database.transaction { conn in
            let inserted = try conn.execute(
                """
                INSERT INTO auth_mounts (path, type, accessor, uuid, description, created_at)
                VALUES (\(path), \(type), \(accessor), \(uuid), \(description), \(now))
                ON CONFLICT (path) DO NOTHING
                """)
            guard inserted == 1 else { throw AccessError(.invalidRequest, "path is already in use at auth/\(path)/") }
        }
        grant.auditFact("auth.mount", path)
    }

    /// Disables the method at `path`: its roles and secret IDs are deleted and every token it issued (with the
    /// tokens made from them) is revoked, as Vault does.
    public func disable(_ grant: Grant, path raw: String) async throws {
        let path = try Self.validatedPath(raw)
        let revoked = try await database.transaction { conn -> Int in
            guard let mount = try Self.find(path, on: conn) else { return 0 }
            var revoked = 0
            for row in try conn.query("SELECT accessor FROM tokens WHERE path = \(mount.loginPath)") {
                revoked += try TokenStore.revokeTree(accessor: try row.decode(String.self, at: 0), on: conn)
            }
            try conn.execute("DELETE FROM approle_secret_ids WHERE mount = \(path)")
            try conn.execute("DELETE FROM approle_roles WHERE mount = \(path)")
            try conn.execute("DELETE FROM auth_mounts WHERE path = \(path)")
            return revoked
        }
        grant.auditFact("auth.mount", path)
        grant.auditFact("auth.revoked_tokens", String(revoked))
    }

    /// Changes the method's description.
    /// - Throws: ``AccessError`` `.invalidRequest` when no method is enabled at `path`.
    public func tune(_ grant: Grant, path: String, description: String?) async throws {
        try await database.transaction { conn in
            guard try Self.find(path, on: conn) != nil else {
                throw AccessError(.invalidRequest, "no auth method is enabled at auth/\(path)/ (see sys/auth)")
            }
            if let description { try conn.execute("UPDATE auth_mounts SET description = \(description) WHERE path = \(path)") }
        }
        grant.auditFact("auth.mount", path)
    }

    static func validatedPath(_ raw: String) throws -> String {
        let path = raw.hasSuffix("/") ? String(raw.dropLast()) : raw
        guard PlainName.isValid(path, maximum: 64), path != ".", path != ".." else {
            throw AccessError(
                .invalidRequest, "an auth path is one segment of letters, digits, '-', '_' or '.', at most 64 bytes, such as ci-approle")
        }
        guard path != "token" else { throw AccessError(.invalidRequest, "auth/token/ is the built-in token method; choose another path") }
        return path
    }

}

/// An `auth_mounts` row.
extension AuthMount: SQLRowDecodable {
    /// The columns of `auth_mounts`.
    enum Column: String, SQLColumn { case path, type, accessor, uuid, description, createdAt = "created_at" }

    public init(row: SQLRow) throws {
        self.init(
            path: try row.decode(Column.path), type: try row.decode(Column.type), accessor: try row.decode(Column.accessor),
            uuid: try row.decode(Column.uuid), description: try row.decode(Column.description), createdAt: try row.decode(Column.createdAt))
    }
}
