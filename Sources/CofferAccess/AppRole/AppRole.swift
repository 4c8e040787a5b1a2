import CofferCrypto
import CofferFoundation
import CofferKeys
import CofferStore
public import Foundation

/// An AppRole role (Vault's parameters): what a machine that logs in with it gets.
public struct AppRoleRole: Sendable, Equatable {
    public var name: String
    public var roleID: String
    public var policies: [String]
    /// Seconds; 0 means the default.
    public var tokenTTL: Int64
    public var tokenMaxTTL: Int64
    public var tokenNumUses: Int64
    /// Seconds a secret ID lives; 0 means it does not expire.
    public var secretIDTTL: Int64
    public var secretIDNumUses: Int64
    public var secretIDBoundCIDRs: [String]
    public var tokenBoundCIDRs: [String]

    public init(
        name: String, roleID: String = UUID().uuidString.lowercased(), policies: [String] = [], tokenTTL: Int64 = 0, tokenMaxTTL: Int64 = 0,
        tokenNumUses: Int64 = 0, secretIDTTL: Int64 = 0, secretIDNumUses: Int64 = 0, secretIDBoundCIDRs: [String] = [],
        tokenBoundCIDRs: [String] = []
    ) {
        self.name = name
        self.roleID = roleID
        self.policies = policies
        self.tokenTTL = tokenTTL
        self.tokenMaxTTL = tokenMaxTTL
        self.tokenNumUses = tokenNumUses
        self.secretIDTTL = secretIDTTL
        self.secretIDNumUses = secretIDNumUses
        self.secretIDBoundCIDRs = secretIDBoundCIDRs
        self.tokenBoundCIDRs = tokenBoundCIDRs
    }
}

/// A secret ID's public facts (the secret ID itself is shown once, at generation).
public struct AppRoleSecretID: Sendable, Equatable {
    public let accessor: String
    public let roleName: String
    public let metadata: [String: String]?
    public let cidrList: [String]
    public internal(set) var numUses: Int64
    public let createdAt: Date
    public let expiresAt: Date?
}

/// Vault's AppRole method: roles, secret IDs stored as keyed hashes, and login, with failed logins
/// rate-limited per role and per client address.
public struct AppRoleService: Sendable {
    let database: any Database
    let keys: KeyHierarchy
    let tokens: TokenService
    let limiter: LoginLimiter

    /// Failed logins allowed per role ID and per client address within a minute, before 429.
    public static let failuresPerMinute = 10

    init(database: any Database, keys: KeyHierarchy, tokens: TokenService) {
        self.database = database
        self.keys = keys
        self.tokens = tokens
        self.limiter = LoginLimiter(limit: Self.failuresPerMinute, window: 60)
    }

    // MARK: roles

    /// Creates or updates `role` in the AppRole method at `mount` (its role ID is kept on update unless
    /// `role.roleID` was set to another).
    /// - Throws: ``AccessError`` `.invalidRequest` for bad settings or a role ID another role of the mount holds;
    ///   `.notFound` for no AppRole method at `mount`.
    public func write(_ grant: Grant, mount: String, _ asked: AppRoleRole) async throws {
        var canonical = asked
        canonical.policies = Policy.canonicalNames(asked.policies)
        let role = canonical
        try Self.validate(name: role.name)
        for name in role.policies { try PolicyStore.validate(name: name) }
        // Vault: auth methods never create root tokens; a role that would is refused when written.
        guard !role.policies.contains(Policy.rootName) else {
            throw AccessError(
                .invalidRequest,
                "token_policies may not hold \"root\": an auth method never issues root tokens; name the policies the role needs")
        }
        _ = try CIDR.list(role.secretIDBoundCIDRs)
        _ = try CIDR.list(role.tokenBoundCIDRs)
        guard [role.tokenTTL, role.tokenMaxTTL, role.tokenNumUses, role.secretIDTTL, role.secretIDNumUses].allSatisfy({ $0 >= 0 }) else {
            throw AccessError(.invalidRequest, "TTLs and use counts must not be negative")
        }
        guard !role.roleID.isEmpty, role.roleID.utf8.count <= 256 else {
            throw AccessError(.invalidRequest, "role_id is 1 to 256 bytes")
        }
        let now = WallClock.now
        let tag = try keys.sealer().tag(Self.authenticated(role, mount: mount))
        try await database.transaction { conn in
            _ = try AuthMountStore.requireAppRole(mount, on: conn)
            try grant.requireWrite(
                exists: try conn.queryFirst("SELECT name FROM approle_roles WHERE mount = \(mount) AND name = \(role.name)") != nil)
            if try conn.queryFirst(
                "SELECT name FROM approle_roles WHERE mount = \(mount) AND role_id = \(role.roleID) AND name <> \(role.name)") != nil
            {
                throw AccessError(.invalidRequest, "role_id is already in use by another role of auth/\(mount)/; choose another")
            }
            try conn.execute(
                """
                INSERT INTO approle_roles (mount, name, role_id, policies, token_ttl, token_max_ttl, token_num_uses,
                secret_id_ttl, secret_id_num_uses,
                                           secret_id_bound_cidrs, token_bound_cidrs, created_at, updated_at, auth_term, auth_tag)
                VALUES (\(mount), \(role.name), \(role.roleID), \(TokenStore.encode(role.policies.sorted())), \(role.tokenTTL),
                \(role.tokenMaxTTL),
                        \(role.tokenNumUses), \(role.secretIDTTL), \(role.secretIDNumUses), \(Self.encodeList(role.secretIDBoundCIDRs)),
                        \(Self.encodeList(role.tokenBoundCIDRs)), \(now), \(now), \(tag.term), \(tag.tag))
                ON CONFLICT (mount, name) DO UPDATE SET role_id = excluded.role_id, policies = excluded.policies, token_ttl =
                excluded.token_ttl,
                    token_max_ttl = excluded.token_max_ttl, token_num_uses = excluded.token_num_uses, secret_id_ttl =
                    excluded.secret_id_ttl,
                    secret_id_num_uses = excluded.secret_id_num_uses, secret_id_bound_cidrs = excluded.secret_id_bound_cidrs,
                    token_bound_cidrs = excluded.token_bound_cidrs, updated_at = excluded.updated_at,
                    auth_term = excluded.auth_term, auth_tag = excluded.auth_tag
                """)
        }
        grant.auditFact("approle.role", role.name)
    }

    /// The role, or `nil`.
    /// - Throws: ``AccessError`` `.notFound` for no AppRole method at `mount`.
    public func read(_ grant: Grant, mount: String, name: String) async throws -> AppRoleRole? {
        let sealer = try keys.sealer()
        return try await database.read { conn in
            _ = try AuthMountStore.requireAppRole(mount, on: conn)
            return try Self.role(mount: mount, where: "name", equals: name, sealer: sealer, on: conn)
        }
    }

    public func list(_ grant: Grant, mount: String) async throws -> [String] {
        try await database.read { conn in
            _ = try AuthMountStore.requireAppRole(mount, on: conn)
            return try conn.query("SELECT name FROM approle_roles WHERE mount = \(mount) ORDER BY name").map {
                try $0.decode(String.self, at: 0)
            }
        }
    }

    /// Deletes a role and its secret IDs (tokens already issued live on until they expire or are revoked).
    public func delete(_ grant: Grant, mount: String, name: String) async throws {
        try await database.transaction { conn in
            _ = try AuthMountStore.requireAppRole(mount, on: conn)
            try conn.execute("DELETE FROM approle_secret_ids WHERE mount = \(mount) AND role_name = \(name)")
            try conn.execute("DELETE FROM approle_roles WHERE mount = \(mount) AND name = \(name)")
        }
        grant.auditFact("approle.role", name)
    }

    // MARK: secret IDs

    /// A new secret ID for `name`: returned once, stored as a keyed hash.
    /// - Parameters:
    ///   - custom: the secret ID to use (Vault's `custom-secret-id`) instead of a random one.
    ///   - ttl, numUses: may only narrow the role's limits.
    /// - Throws: ``AccessError`` `.invalidRequest` for a custom secret ID that is too short, too long or in use.
    public func generateSecretID(
        _ grant: Grant, mount: String, role name: String, custom: String? = nil, metadata: [String: String]?,
        cidrList: [String], ttl: Int64?, numUses: Int64?
    ) async throws -> (secretID: String, entry: AppRoleSecretID) {
        guard let role = try await read(grant, mount: mount, name: name) else {
            throw AccessError(.notFound, "no AppRole role named \(name)")
        }
        if let custom, custom.utf8.count < 16 || custom.utf8.count > 256 {
            throw AccessError(.invalidRequest, "a custom secret_id is 16 to 256 bytes: it is a credential, so make it long and random")
        }
        if let metadata, metadata.count > 64 || metadata.contains(where: { $0.key.utf8.count > 128 || $0.value.utf8.count > 512 }) {
            throw AccessError(.invalidRequest, "metadata holds at most 64 keys of up to 128 bytes with values of up to 512 bytes")
        }
        let blocks = try CIDR.list(cidrList)
        let roleBlocks = try CIDR.list(role.secretIDBoundCIDRs)
        if !roleBlocks.isEmpty,
            let outside = blocks.first(where: { block in
                !roleBlocks.contains { $0.contains(block.description.split(separator: "/")[0].description) }
            })
        {
            throw AccessError(.invalidRequest, "cidr_list must lie within the role's secret_id_bound_cidrs: \(outside) does not")
        }
        func narrow(_ asked: Int64?, _ limit: Int64, _ field: String) throws -> Int64 {
            guard let asked, asked > 0 else { return limit }
            guard limit == 0 || asked <= limit else { throw AccessError(.invalidRequest, "\(field) may not exceed the role's \(limit)") }
            return asked
        }
        let effectiveTTL = try narrow(ttl, role.secretIDTTL, "ttl")
        let uses = try narrow(numUses, role.secretIDNumUses, "num_uses")
        let secretID = custom ?? UUID().uuidString.lowercased() + "-" + TokenFormat.base64URL(Random.bytes(16))
        let now = WallClock.now.roundedToStoredPrecision
        let entry = AppRoleSecretID(
            accessor: UUID().uuidString.lowercased(), roleName: name, metadata: metadata, cidrList: blocks.map(\.description),
            numUses: uses, createdAt: now, expiresAt: effectiveTTL > 0 ? now.addingTimeInterval(TimeInterval(effectiveTTL)) : nil)
        let hash = try tokens.hash(secretID)
        let tag = try keys.sealer().tag(Self.authenticated(entry, mount: mount, hash: hash))
        try await database.transaction { conn in
            // Secret IDs are unique (a hash names one); a custom one already in use is refused, never replaced.
            let inserted = try conn.execute(
                """
                INSERT INTO approle_secret_ids (accessor, mount, role_name, secret_hash, metadata, cidr_list, num_uses,
                created_at, expires_at,
                                                auth_term, auth_tag)
                VALUES (\(entry.accessor), \(mount), \(name), \(hash), \(metadata.map(TokenStore.encode)),
                \(Self.encodeList(entry.cidrList)), \(uses),
                        \(entry.createdAt), \(entry.expiresAt), \(tag.term), \(tag.tag))
                ON CONFLICT (secret_hash) DO NOTHING
                """)
            guard inserted == 1 else { throw AccessError(.invalidRequest, "that secret_id is already in use; choose another") }
        }
        grant.auditSensitive("approle.secret_id", secretID)
        grant.auditFact("approle.secret_id_accessor", entry.accessor)
        return (secretID, entry)
    }

    public func lookupSecretID(_ grant: Grant, mount: String, role name: String, secretID: String) async throws -> AppRoleSecretID? {
        let hash = try tokens.hash(secretID)
        let sealer = try keys.sealer()
        return try await database.read { conn in
            _ = try AuthMountStore.requireAppRole(mount, on: conn)
            return try Self.secretID(hash: hash, mount: mount, role: name, sealer: sealer, on: conn)?.entry
        }
    }

    public func lookupSecretID(_ grant: Grant, mount: String, role name: String, accessor: String) async throws -> AppRoleSecretID? {
        let sealer = try keys.sealer()
        return try await database.read { conn in
            _ = try AuthMountStore.requireAppRole(mount, on: conn)
            return try conn.queryFirst("\(Self.secretColumns) WHERE accessor = \(accessor) AND mount = \(mount) AND role_name = \(name)")
                .map { try Self.storedSecretID($0, sealer: sealer).entry }
        }
    }

    public func listSecretIDs(_ grant: Grant, mount: String, role name: String) async throws -> [String] {
        try await database.read { conn in
            _ = try AuthMountStore.requireAppRole(mount, on: conn)
            return try conn.query(
                "SELECT accessor FROM approle_secret_ids WHERE mount = \(mount) AND role_name = \(name) ORDER BY accessor"
            )
            .map { try $0.decode(String.self, at: 0) }
        }
    }

    public func destroySecretID(_ grant: Grant, mount: String, role name: String, secretID: String) async throws {
        let hash = try tokens.hash(secretID)
        try await database.transaction { conn in
            _ = try AuthMountStore.requireAppRole(mount, on: conn)
            try conn.execute("DELETE FROM approle_secret_ids WHERE secret_hash = \(hash) AND mount = \(mount) AND role_name = \(name)")
        }
    }

    public func destroySecretID(_ grant: Grant, mount: String, role name: String, accessor: String) async throws {
        try await database.transaction { conn in
            _ = try AuthMountStore.requireAppRole(mount, on: conn)
            try conn.execute("DELETE FROM approle_secret_ids WHERE accessor = \(accessor) AND mount = \(mount) AND role_name = \(name)")
        }
        grant.auditFact("approle.secret_id_accessor", accessor)
    }

    /// Deletes the mount's expired secret IDs (Vault's `tidy/secret-id`); returns how many.
    @discardableResult
    public func tidySecretIDs(_ grant: Grant, mount: String) async throws -> Int {
        let now = WallClock.now.roundedToStoredPrecision
        let removed = try await database.transaction { conn -> Int in
            _ = try AuthMountStore.requireAppRole(mount, on: conn)
            return try conn.execute(
                "DELETE FROM approle_secret_ids WHERE mount = \(mount) AND expires_at IS NOT NULL AND expires_at <= \(now)")
        }
        grant.auditFact("approle.tidied", String(removed))
        return removed
    }

    // MARK: login

    /// Exchanges a role ID and secret ID for a short-lived token with the role's policies.
    /// - Throws: ``AccessError`` `.invalidRequest` "invalid role or secret ID" for any mismatch (the same words
    ///   for every case, so nothing can be learnt from them), `.rateLimited` after too many failures from the
    ///   role ID or the address.
    public func login(_ grant: Grant, mount: String, roleID: String, secretID: String) async throws -> IssuedToken {
        let address = grant.remoteAddress
        let keys = ["role:\(mount)/\(roleID.prefix(128))", "address:\(address)"]
        if let wait = limiter.blocked(keys) {
            throw AccessError(.rateLimited, "too many failed logins for this role or from this address; try again in \(wait) s")
        }
        do {
            let issued = try await attemptLogin(grant, mount: mount, roleID: roleID, secretID: secretID)
            grant.auditSensitive("auth.client_token", issued.token)
            grant.auditFact("auth.accessor", issued.entry.accessor)
            return issued
        } catch let error as AccessError where error.code == .invalidRequest {
            limiter.recordFailure(keys)
            throw error
        }
    }

    static let invalid = AccessError(.invalidRequest, "invalid role or secret ID")

    /// Spends the secret ID and stores the token in one transaction (with the login's request entry, when the
    /// Gate left it to the change): a spent single-use secret ID always has its token, and the other way round.
    private func attemptLogin(_ grant: Grant, mount: String, roleID: String, secretID: String) async throws -> IssuedToken {
        guard !roleID.isEmpty, !secretID.isEmpty, roleID.utf8.count <= 256, secretID.utf8.count <= 256 else { throw Self.invalid }
        let hash = try tokens.hash(secretID)
        let now = WallClock.now
        let sealer = try keys.sealer()
        let address = grant.remoteAddress
        let tokens = tokens
        return try await grant.transaction(on: database) { conn -> IssuedToken in
            let method = try AuthMountStore.requireAppRole(mount, on: conn)
            guard let role = try Self.role(mount: mount, where: "role_id", equals: roleID, sealer: sealer, on: conn),
                let (secret, tag) = try Self.secretID(hash: hash, mount: mount, role: role.name, sealer: sealer, on: conn)
            else { throw Self.invalid }
            if let expiry = secret.expiresAt, expiry <= now { throw Self.invalid }
            guard try CIDR.list(role.secretIDBoundCIDRs).allows(address), try CIDR.list(secret.cidrList).allows(address) else {
                throw Self.invalid
            }
            if secret.numUses == 1 {
                // The row count decides: of two logins racing for a single-use secret ID, only the one whose
                // DELETE took the row goes on (PostgreSQL's read committed lets both read it first).
                guard
                    try conn.execute("DELETE FROM approle_secret_ids WHERE accessor = \(secret.accessor) AND auth_tag = \(tag?.tag ?? [])")
                        == 1
                else { throw Self.invalid }
            } else if secret.numUses > 1 {
                // Conditional on the tag read: of concurrent logins each spends a distinct use (a loser is refused
                // as a bad login and may retry).
                var spent = secret
                spent.numUses -= 1
                let fresh = try sealer.tag(Self.authenticated(spent, mount: mount, hash: hash))
                guard
                    try conn.execute(
                        """
                        UPDATE approle_secret_ids SET num_uses = \(spent.numUses), auth_term = \(fresh.term), auth_tag = \(fresh.tag)
                        WHERE accessor = \(secret.accessor) AND auth_tag = \(tag?.tag ?? [])
                        """) == 1
                else { throw Self.invalid }
            }
            // As Vault: the secret ID's metadata, then the role's name, become the token's metadata.
            let meta = (secret.metadata ?? [:]).merging(["role_name": role.name]) { $1 }
            let (issued, tokenHash) = try tokens.loginToken(
                policies: role.policies, meta: meta, displayName: "approle", ttl: role.tokenTTL,
                maxTTL: role.tokenMaxTTL, numUses: role.tokenNumUses, boundCIDRs: role.tokenBoundCIDRs,
                path: method.loginPath)
            try TokenStore.insert(issued.entry, hash: tokenHash, sealer: sealer, on: conn)
            return issued
        }
    }

    // MARK: rows

    static func validate(name: String) throws {
        guard PlainName.isValid(name, maximum: 128) else {
            throw AccessError(.invalidRequest, "a role name is 1 to 128 letters, digits, '-', '_' or '.'")
        }
    }

    static func encodeList(_ list: [String]) -> String? { list.isEmpty ? nil : TokenStore.encode(list) }

    static func role(mount: String, where column: String, equals value: String, sealer: Sealer, on conn: any SQLConnection) throws
        -> AppRoleRole?
    {
        var query: SQLQuery = "SELECT \(columns: AppRoleRoleRecord.Column.self) FROM approle_roles WHERE mount = \(mount)"
        query.append(column == "role_id" ? " AND role_id = \(value)" : " AND name = \(value)")
        guard let record = try conn.query(AppRoleRoleRecord.self, query).first else { return nil }
        return try sealer.verified(record.role, record.authenticated, record.tag)
    }

    static let secretColumns: SQLQuery = "SELECT \(columns: AppRoleSecretIDRecord.Column.self) FROM approle_secret_ids"

    static func secretID(hash: [UInt8], mount: String, role: String, sealer: Sealer, on conn: any SQLConnection) throws -> (
        entry: AppRoleSecretID, tag: RowTag?
    )? {
        guard let row = try conn.queryFirst("\(secretColumns) WHERE secret_hash = \(hash) AND mount = \(mount) AND role_name = \(role)")
        else { return nil }
        let record = try AppRoleSecretIDRecord(row: row)
        guard ConstantTime.equals(record.hash, hash) else { return nil }
        try sealer.verify(record.authenticated, record.tag)
        return (record.entry, record.tag)
    }

    /// A secret ID row read with ``secretColumns``, authenticated.
    static func storedSecretID(_ row: SQLRow, sealer: Sealer) throws -> (entry: AppRoleSecretID, tag: RowTag?) {
        let record = try AppRoleSecretIDRecord(row: row)
        try sealer.verify(record.authenticated, record.tag)
        return (record.entry, record.tag)
    }

    /// A role's fields, for its tag.
    static func authenticated(_ role: AppRoleRole, mount: String) -> AuthenticatedRow {
        var row = AuthenticatedRow("approle_roles", key: "\(mount)/\(role.name)")
        row.add("role_id", role.roleID)
        row.add("policies", role.policies.sorted())
        row.add("token_ttl", role.tokenTTL)
        row.add("token_max_ttl", role.tokenMaxTTL)
        row.add("token_num_uses", role.tokenNumUses)
        row.add("secret_id_ttl", role.secretIDTTL)
        row.add("secret_id_num_uses", role.secretIDNumUses)
        row.add("secret_id_bound_cidrs", role.secretIDBoundCIDRs)
        row.add("token_bound_cidrs", role.tokenBoundCIDRs)
        return row
    }

    /// A secret ID's fields, for its tag.
    static func authenticated(_ secret: AppRoleSecretID, mount: String, hash: [UInt8]) -> AuthenticatedRow {
        var row = AuthenticatedRow("approle_secret_ids", key: secret.accessor)
        row.add("mount", mount)
        row.add("role_name", secret.roleName)
        row.add("secret_hash", hash)
        row.add("metadata", secret.metadata.map(TokenStore.encode))
        row.add("cidr_list", secret.cidrList)
        row.add("num_uses", secret.numUses)
        row.add("created_at", secret.createdAt)
        row.add("expires_at", secret.expiresAt)
        return row
    }

    /// The tables as ``KeyHierarchy`` sees them.
    static let authenticatedTables = [
        AuthenticatedTable(AppRoleRoleRecord.self, table: "approle_roles", key: [.mount, .name]),
        AuthenticatedTable(AppRoleSecretIDRecord.self, table: "approle_secret_ids", key: [.accessor])
    ]
}

/// An `approle_roles` row: the role, its mount, and its tag (checked before the role is used).
struct AppRoleRoleRecord: TaggedRecord {
    let role: AppRoleRole
    let mount: String
    let tag: RowTag?

    /// The columns of `approle_roles`.
    enum Column: String, TaggedColumn {
        case name, roleID = "role_id", policies, tokenTTL = "token_ttl", tokenMaxTTL = "token_max_ttl"
        case tokenNumUses = "token_num_uses", secretIDTTL = "secret_id_ttl", secretIDNumUses = "secret_id_num_uses"
        case secretIDBoundCIDRs = "secret_id_bound_cidrs", tokenBoundCIDRs = "token_bound_cidrs", mount
        case authTerm = "auth_term", authTag = "auth_tag"
    }

    init(row: SQLRow) throws {
        func value<T: SQLDecodable>(_ column: Column) throws -> T { try row.decode(column) }
        role = AppRoleRole(
            name: try value(.name), roleID: try value(.roleID), policies: try TokenStore.decodeList(try value(.policies)),
            tokenTTL: try value(.tokenTTL), tokenMaxTTL: try value(.tokenMaxTTL), tokenNumUses: try value(.tokenNumUses),
            secretIDTTL: try value(.secretIDTTL), secretIDNumUses: try value(.secretIDNumUses),
            secretIDBoundCIDRs: try (value(.secretIDBoundCIDRs) as String?).map(TokenStore.decodeList) ?? [],
            tokenBoundCIDRs: try (value(.tokenBoundCIDRs) as String?).map(TokenStore.decodeList) ?? [])
        mount = try value(.mount)
        tag = try row.tag(Column.self)
    }

    var authenticated: AuthenticatedRow { AppRoleService.authenticated(role, mount: mount) }
}

/// An `approle_secret_ids` row: the secret ID's entry (its hash, never the secret ID), its mount, and its tag.
struct AppRoleSecretIDRecord: TaggedRecord {
    let entry: AppRoleSecretID
    let hash: [UInt8]
    let mount: String
    let tag: RowTag?

    /// The columns of `approle_secret_ids`.
    enum Column: String, TaggedColumn {
        case accessor, roleName = "role_name", metadata, cidrList = "cidr_list", numUses = "num_uses", createdAt = "created_at"
        case expiresAt = "expires_at", hash = "secret_hash", mount, authTerm = "auth_term", authTag = "auth_tag"
    }

    init(row: SQLRow) throws {
        func value<T: SQLDecodable>(_ column: Column) throws -> T { try row.decode(column) }
        entry = AppRoleSecretID(
            accessor: try value(.accessor), roleName: try value(.roleName),
            metadata: try (value(.metadata) as String?).map(TokenStore.decodeMap),
            cidrList: try (value(.cidrList) as String?).map(TokenStore.decodeList) ?? [], numUses: try value(.numUses),
            createdAt: try value(.createdAt), expiresAt: try value(.expiresAt))
        hash = try value(.hash)
        mount = try value(.mount)
        tag = try row.tag(Column.self)
    }

    var authenticated: AuthenticatedRow { AppRoleService.authenticated(entry, mount: mount, hash: hash) }
}

/// Counts failed logins per key in a sliding window; a key over the limit is blocked until its oldest
/// failure leaves the window. Per instance: several instances each allow the limit (documented).
package final class LoginLimiter: Sendable {
    private let failures = Locked<[String: [ContinuousClock.Instant]]>([:])
    let limit: Int
    let window: Duration

    package init(limit: Int, window: Int) {
        self.limit = limit
        self.window = .seconds(window)
    }

    /// Seconds to wait when any of `keys` is over the limit, else `nil`.
    package func blocked(_ keys: [String]) -> Int? {
        let now = ContinuousClock.now
        return failures.withLock { table in
            var wait: Duration?
            for key in keys {
                let recent = (table[key] ?? []).filter { now - $0 < window }
                table[key] = recent.isEmpty ? nil : recent
                if recent.count >= limit, let oldest = recent.first {
                    let remaining = window - (now - oldest)
                    wait = max(wait ?? .zero, remaining)
                }
            }
            return wait.map { Int(($0.components.seconds) + 1) }
        }
    }

    package func recordFailure(_ keys: [String]) {
        let now = ContinuousClock.now
        failures.withLock { table in
            for key in keys { table[key, default: []].append(now) }
            // Bounded memory: forget the quietest keys when too many addresses have failed.
            if table.count > 100_000 { table = table.filter { now - ($0.value.last ?? now) < window } }
        }
    }
}
