import CofferFoundation
import CofferKeys
import CofferStore
import Foundation

/// A token role (Vault's `auth/token/roles/:name`): what `auth/token/create/:name` may issue. A role lets a
/// caller whose policy allows `auth/token/create/<name>` make tokens with the role's allowed policies, even
/// ones the caller does not hold; that is its purpose, so who may use a role is decided by that path's policy.
public struct TokenRole: Sendable, Equatable {
    public var name: String
    /// Policies a token may have; empty means the creator's own (as for `auth/token/create`).
    public var allowedPolicies: [String] = []
    /// Policies a token may never have.
    public var disallowedPolicies: [String] = []
    public var orphan = false
    public var renewable = true
    /// Seconds; non-zero makes every token of the role periodic.
    public var period: Int64 = 0
    /// Seconds; non-zero caps every token of the role.
    public var explicitMaxTTL: Int64 = 0
    /// Appended to the tokens' path (`auth/token/create/<name>/<suffix>`), so a prefix revocation finds them.
    public var pathSuffix = ""
    public var noDefaultPolicy = false

    public init(name: String) {
        self.name = name
    }

    /// The path the role's tokens are made at.
    public var creationPath: String { "auth/token/create/\(name)" + (pathSuffix.isEmpty ? "" : "/\(pathSuffix)") }
}

/// The token roles, in `token_roles`.
///
/// Each row carries an authentication tag over every setting: a role edited in the database (its allowed
/// policies widened, `orphan` set) is refused, never used to make a token.
public struct TokenRoleStore: Sendable {
    let database: any Database
    let keys: KeyHierarchy

    public func read(_ grant: Grant, name: String) async throws -> TokenRole? {
        let sealer = try keys.sealer()
        return try await database.read { conn in try Self.find(name, sealer: sealer, on: conn) }
    }

    public func list(_ grant: Grant) async throws -> [String] {
        try await database.query("SELECT name FROM token_roles ORDER BY name").map { try $0.decode(String.self, at: 0) }
    }

    /// Creates or updates `role` (`create` or `update` capability accordingly).
    /// - Throws: ``AccessError`` `.invalidRequest` for a bad name, policy name, suffix or negative duration.
    public func write(_ grant: Grant, _ asked: TokenRole) async throws {
        var canonical = asked
        canonical.allowedPolicies = Policy.canonicalNames(asked.allowedPolicies)
        canonical.disallowedPolicies = Policy.canonicalNames(asked.disallowedPolicies)
        let role = canonical
        try Self.validate(name: role.name)
        for name in role.allowedPolicies + role.disallowedPolicies { try PolicyStore.validate(name: name) }
        guard role.period >= 0, role.explicitMaxTTL >= 0 else {
            throw AccessError(.invalidRequest, "period and explicit_max_ttl must not be negative")
        }
        guard
            role.pathSuffix.isEmpty
                || (role.pathSuffix.utf8.count <= 128
                    && role.pathSuffix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }))
        else {
            throw AccessError(.invalidRequest, "path_suffix is letters, digits, '-', '_' or '.', at most 128 bytes")
        }
        let now = WallClock.now.roundedToStoredPrecision
        let tag = try keys.sealer().tag(Self.authenticated(role))
        try await database.transaction { conn in
            try grant.requireWrite(exists: try conn.queryFirst("SELECT name FROM token_roles WHERE name = \(role.name)") != nil)
            try conn.execute(
                """
                INSERT INTO token_roles (name, allowed_policies, disallowed_policies, orphan, renewable, period,
                explicit_max_ttl, path_suffix,
                                         no_default_policy, created_at, updated_at, auth_term, auth_tag)
                VALUES (\(role.name), \(TokenStore.encode(role.allowedPolicies.sorted())),
                \(TokenStore.encode(role.disallowedPolicies.sorted())),
                        \(role.orphan), \(role.renewable), \(role.period), \(role.explicitMaxTTL), \(role.pathSuffix),
                        \(role.noDefaultPolicy), \(now), \(now),
                        \(tag.term), \(tag.tag))
                ON CONFLICT (name) DO UPDATE SET allowed_policies = excluded.allowed_policies, disallowed_policies =
                excluded.disallowed_policies,
                    orphan = excluded.orphan, renewable = excluded.renewable, period = excluded.period, explicit_max_ttl =
                    excluded.explicit_max_ttl,
                    path_suffix = excluded.path_suffix, no_default_policy = excluded.no_default_policy, updated_at = excluded.updated_at,
                    auth_term = excluded.auth_term, auth_tag = excluded.auth_tag
                """)
        }
        grant.auditFact("token.role", role.name)
    }

    /// Deletes the role; tokens made from it live on, as in Vault.
    public func delete(_ grant: Grant, name: String) async throws {
        try await database.execute("DELETE FROM token_roles WHERE name = \(name)")
        grant.auditFact("token.role", name)
    }

    static func validate(name: String) throws {
        guard PlainName.isValid(name, maximum: 128) else {
            throw AccessError(.invalidRequest, "a token role name is 1 to 128 letters, digits, '-', '_' or '.'")
        }
    }

    static func find(_ name: String, sealer: Sealer, on conn: any SQLConnection) throws -> TokenRole? {
        guard
            let record = try conn.query(
                TokenRoleRecord.self, "SELECT \(columns: TokenRoleRecord.Column.self) FROM token_roles WHERE name = \(name)"
            ).first
        else { return nil }
        return try sealer.verified(record.role, record.authenticated, record.tag)
    }

    /// A role's settings, for its tag.
    static func authenticated(_ role: TokenRole) -> AuthenticatedRow {
        var row = AuthenticatedRow("token_roles", key: role.name)
        row.add("allowed_policies", role.allowedPolicies.sorted())
        row.add("disallowed_policies", role.disallowedPolicies.sorted())
        row.add("orphan", role.orphan)
        row.add("renewable", role.renewable)
        row.add("period", role.period)
        row.add("explicit_max_ttl", role.explicitMaxTTL)
        row.add("path_suffix", role.pathSuffix)
        row.add("no_default_policy", role.noDefaultPolicy)
        return row
    }

    /// The table as ``KeyHierarchy`` sees it.
    static let authenticatedTable = AuthenticatedTable(TokenRoleRecord.self, table: "token_roles", key: [.name])
}

/// A `token_roles` row: the role and its tag (checked by ``TokenRoleStore/find(_:sealer:on:)`` before use).
struct TokenRoleRecord: TaggedRecord {
    let role: TokenRole
    let tag: RowTag?

    /// The columns of `token_roles`.
    enum Column: String, TaggedColumn {
        case name, allowedPolicies = "allowed_policies", disallowedPolicies = "disallowed_policies", orphan, renewable, period
        case explicitMaxTTL = "explicit_max_ttl", pathSuffix = "path_suffix", noDefaultPolicy = "no_default_policy"
        case authTerm = "auth_term", authTag = "auth_tag"
    }

    init(row: SQLRow) throws {
        var role = TokenRole(name: try row.decode(Column.name))
        role.allowedPolicies = try TokenStore.decodeList(try row.decode(Column.allowedPolicies))
        role.disallowedPolicies = try TokenStore.decodeList(try row.decode(Column.disallowedPolicies))
        role.orphan = try row.decode(Column.orphan)
        role.renewable = try row.decode(Column.renewable)
        role.period = try row.decode(Column.period)
        role.explicitMaxTTL = try row.decode(Column.explicitMaxTTL)
        role.pathSuffix = try row.decode(Column.pathSuffix)
        role.noDefaultPolicy = try row.decode(Column.noDefaultPolicy)
        self.role = role
        tag = try row.tag(Column.self)
    }

    var authenticated: AuthenticatedRow { TokenRoleStore.authenticated(role) }
}
