import CofferCrypto
import CofferFoundation
import CofferKeys
import CofferStore
import Foundation

/// Vault's token operations, each taking the ``Grant`` of the request that asks for it.
public struct TokenService: Sendable {
    let store: TokenStore
    let keys: KeyHierarchy

    /// A token's TTL when none is asked for, and the longest any token lives (Vault's 768h defaults).
    public static let defaultTTL: Int64 = 768 * 3600
    public static let maximumTTL: Int64 = 768 * 3600

    /// The keyed hash a token is stored under.
    func hash(_ token: String) throws -> [UInt8] {
        let key = try keys.systemKey(.tokenHMAC)
        return try BLAKE2b.hash(Array(token.utf8), key: key.bytes)
    }

    /// Creates a token as `grant`'s token asks (Vault's rules): a child of the caller unless `orphan`, with a
    /// subset of the caller's policies unless the caller is root, `default` added unless `noDefaultPolicy`,
    /// a TTL no longer than the parent's remaining TTL. A periodic token (`period`) needs root or `sudo`.
    /// - Parameters:
    ///   - orphan: `auth/token/create-orphan`, or `no_parent` (which needs `sudo` on `auth/token/create`).
    ///   - role: `auth/token/create/:role`: the role decides the policies the token may have (its allowed
    ///     policies, or the caller's), whether it is an orphan, renewable or periodic, and its maximum.
    /// - Throws: ``AccessError`` `.invalidRequest` for bad parameters, `.permissionDenied` for policies the caller lacks.
    public func create(
        _ grant: Grant, _ request: TokenRequest, orphan: Bool, role: TokenRole? = nil,
        path: String = "auth/token/create"
    ) async throws -> IssuedToken {
        guard let parent = grant.token else { throw AccessError.permissionDenied() }
        let privileged = parent.isRoot || grant.allows(.sudo)
        if role == nil, request.noParent, !orphan, !privileged {
            throw AccessError(.invalidRequest, "root or sudo privileges required to create orphan token")
        }
        if role == nil, (request.period ?? 0) > 0, !privileged {
            throw AccessError(.invalidRequest, "root or sudo privileges required to create periodic token")
        }
        let isOrphan = role?.orphan ?? (orphan || request.noParent)
        let noDefault = request.noDefaultPolicy || role?.noDefaultPolicy == true
        let allowed = role?.allowedPolicies ?? []
        let offered = allowed.isEmpty ? parent.policies : allowed
        var policies = Set(
            Policy.canonicalNames(
                (request.policies ?? offered.filter { $0 != Policy.defaultName || !noDefault })
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }))
        for name in policies { try PolicyStore.validate(name: name) }
        if let role, !allowed.isEmpty {
            let outside = policies.subtracting(allowed).subtracting([Policy.defaultName])
            guard outside.isEmpty else {
                throw AccessError(
                    .invalidRequest,
                    """
                    token policies must be a subset of the role's allowed policies: \(outside.sorted().joined(separator: ", ")) \
                    is not allowed by \(role.name)
                    """
                )
            }
        } else if !parent.isRoot {
            let missing = policies.subtracting(parent.policies).subtracting([Policy.defaultName])
            guard missing.isEmpty else {
                throw AccessError(
                    .invalidRequest,
                    "child policies must be subset of parent: \(missing.sorted().joined(separator: ", ")) not held by the caller")
            }
        }
        if noDefault {
            policies.remove(Policy.defaultName)
        } else if !policies.contains(Policy.rootName) {
            policies.insert(Policy.defaultName)
        }
        if let role {
            let refused = policies.intersection(role.disallowedPolicies)
            guard refused.isEmpty else {
                throw AccessError(
                    .invalidRequest,
                    "token policies include ones the role \(role.name) disallows: \(refused.sorted().joined(separator: ", "))")
            }
            // Only root makes root: a role never turns a caller without root into one.
            guard !policies.contains(Policy.rootName) || parent.isRoot else {
                throw AccessError(.invalidRequest, "root tokens may not be created from a token role by a caller without root")
            }
        }
        guard request.numUses >= 0 else { throw AccessError(.invalidRequest, "num_uses must be 0 (unlimited) or more") }
        guard (request.ttl ?? 0) >= 0, (request.explicitMaxTTL ?? 0) >= 0, (request.period ?? 0) >= 0 else {
            throw AccessError(.invalidRequest, "ttl, explicit_max_ttl and period must not be negative")
        }
        let period = min(role.map { $0.period > 0 ? $0.period : request.period ?? 0 } ?? request.period ?? 0, Self.maximumTTL)
        let explicitMax: Int64 = [request.explicitMaxTTL ?? 0, role?.explicitMaxTTL ?? 0].filter { $0 > 0 }.min() ?? 0
        let now = WallClock.now
        let isRootToken = policies.contains(Policy.rootName)
        // Root tokens without a TTL never expire (Vault); every other token gets one. A periodic token's TTL is its period.
        var ttl = period > 0 ? period : request.ttl ?? (isRootToken ? 0 : Self.defaultTTL)
        if !isRootToken || ttl > 0 { ttl = min(ttl == 0 ? Self.defaultTTL : ttl, Self.maximumTTL) }
        if explicitMax > 0 { ttl = min(ttl, explicitMax) }
        var expiresAt = ttl > 0 ? now.addingTimeInterval(TimeInterval(ttl)) : nil
        var maxExpiresAt = explicitMax > 0 ? now.addingTimeInterval(TimeInterval(explicitMax)) : nil
        if !isOrphan, let parentExpiry = parent.expiresAt {
            // A child never outlives its parent.
            expiresAt = min(expiresAt ?? parentExpiry, parentExpiry)
            maxExpiresAt = min(maxExpiresAt ?? parentExpiry, parentExpiry)
        }
        // Renewals stop at the system maximum, except for a periodic token, which only an explicit maximum ends.
        if maxExpiresAt == nil, let expiresAt, !isRootToken, period == 0 {
            maxExpiresAt = max(now.addingTimeInterval(TimeInterval(Self.maximumTTL)), expiresAt)
        }
        let path = role?.creationPath ?? path
        let displayName = Self.displayName(request.displayName, path: path)
        let token = TokenFormat.newToken()
        var entry = TokenEntry(
            accessor: TokenFormat.newAccessor(), parentAccessor: isOrphan ? nil : parent.accessor, policies: policies.sorted(),
            meta: request.meta, displayName: displayName, path: path,
            creationTTL: expiresAt.map { Int64($0.timeIntervalSince(now).rounded()) } ?? 0,
            explicitMaxTTL: explicitMax, numUses: request.numUses,
            renewable: request.renewable && (role?.renewable ?? true) && expiresAt != nil,
            createdAt: now.roundedToStoredPrecision, expiresAt: expiresAt.map(\.roundedToStoredPrecision),
            maxExpiresAt: maxExpiresAt.map(\.roundedToStoredPrecision))
        entry.period = period
        entry.role = role?.name
        try await store.insert(entry, hash: try hash(token), recordedBy: grant)
        grant.auditSensitive("auth.client_token", token)
        grant.auditFact("auth.accessor", entry.accessor)
        if let role { grant.auditFact("auth.token_role", role.name) }
        return IssuedToken(token: token, entry: entry)
    }

    /// A new root token (Vault's `sys/generate-root`, once the unseal keys were entered): an orphan with the
    /// root policy and no TTL, at the path Vault gives it. Only the key hierarchy's proof authorises this.
    package func issueRoot(_ grant: Grant) async throws -> IssuedToken {
        let now = WallClock.now.roundedToStoredPrecision
        let token = TokenFormat.newToken()
        let entry = TokenEntry(
            accessor: TokenFormat.newAccessor(), parentAccessor: nil, policies: [Policy.rootName], meta: nil,
            displayName: "root", path: "auth/token/root", creationTTL: 0, explicitMaxTTL: 0, numUses: 0,
            renewable: false, createdAt: now, expiresAt: nil, maxExpiresAt: nil)
        try await store.insert(entry, hash: try hash(token), recordedBy: grant)
        grant.auditSensitive("auth.client_token", token)
        grant.auditFact("auth.accessor", entry.accessor)
        return IssuedToken(token: token, entry: entry)
    }

    /// The length of every token Coffer issues, and so of a root generation's one-time pad.
    public static let tokenLength = TokenFormat.newToken().utf8.count

    /// A token for a login method (AppRole), not stored yet: an orphan with the role's policies, and its hash.
    /// The login stores it (``TokenStore/insert(_:hash:sealer:on:)``) in the transaction that spends its secret ID.
    func loginToken(
        policies: [String], meta: [String: String]?, displayName: String, ttl: Int64, maxTTL: Int64, numUses: Int64,
        boundCIDRs: [String], path: String
    ) throws -> (issued: IssuedToken, hash: [UInt8]) {
        // Vault: auth methods never create root tokens. Checked here as well as when a role is written, so a
        // role row that holds `root` (written before this rule, or edited in the database) logs in to nothing.
        guard !policies.contains(Policy.rootName) else {
            throw AccessError(.permissionDenied, "an auth method never issues a root token; the role names the root policy")
        }
        let now = WallClock.now
        let policies = Policy.canonicalNames(policies)
        let ttl = ttl > 0 ? min(ttl, Self.maximumTTL) : Self.defaultTTL
        let maximum = maxTTL > 0 ? min(maxTTL, Self.maximumTTL) : Self.maximumTTL
        let expiresAt = now.addingTimeInterval(TimeInterval(min(ttl, maximum))).roundedToStoredPrecision
        let token = TokenFormat.newToken()
        var entry = TokenEntry(
            accessor: TokenFormat.newAccessor(), parentAccessor: nil, policies: Array(Set(policies + [Policy.defaultName])).sorted(),
            meta: meta, displayName: displayName, path: path, creationTTL: min(ttl, maximum), explicitMaxTTL: maxTTL,
            numUses: numUses, renewable: true, createdAt: now.roundedToStoredPrecision, expiresAt: expiresAt,
            maxExpiresAt: now.addingTimeInterval(TimeInterval(maximum)).roundedToStoredPrecision)
        entry.boundCIDRs = boundCIDRs
        return (IssuedToken(token: token, entry: entry), try hash(token))
    }

    /// The entry of `token` (for `auth/token/lookup`), or `nil`: expired tokens are gone for lookups too.
    public func lookup(_ grant: Grant, token: String) async throws -> TokenEntry? {
        guard TokenFormat.isWellFormed(token), let entry = try await store.lookup(hash: try hash(token)),
            !entry.isExpired(at: WallClock.now)
        else { return nil }
        return entry
    }

    /// The live entry of `accessor`, for the Gate's own questions about a token (no request of its own).
    func lookup(grantless accessor: String) async throws -> TokenEntry? {
        guard let entry = try await store.lookup(accessor: accessor), !entry.isExpired(at: WallClock.now) else { return nil }
        return entry
    }

    public func lookup(_ grant: Grant, accessor: String) async throws -> TokenEntry? {
        try await lookup(grantless: accessor)
    }

    /// Renews `accessor` by `increment` seconds (its creation TTL when `nil`), up to its maximum.
    /// - Returns: the renewed entry and the TTL the renewal granted (seconds from the renewal to the new expiry,
    ///   which is Vault's `lease_duration`; not what is left by the time the answer is written).
    public func renew(_ grant: Grant, accessor: String, increment: Int64?) async throws -> (entry: TokenEntry, granted: Int64)? {
        let now = WallClock.now
        guard let entry = try await store.renew(accessor: accessor, increment: increment, now: now) else { return nil }
        return (entry, entry.expiresAt.map { max(0, Int64($0.timeIntervalSince(now).rounded())) } ?? 0)
    }

    /// Revokes a token and its children. Unknown tokens are fine (Vault answers 204 too).
    @discardableResult
    public func revoke(_ grant: Grant, token: String) async throws -> Int {
        guard TokenFormat.isWellFormed(token), let entry = try await store.lookup(hash: try hash(token)) else { return 0 }
        return try await revoke(grant, accessor: entry.accessor)
    }

    @discardableResult
    public func revoke(_ grant: Grant, accessor: String) async throws -> Int {
        grant.auditFact("revoked.accessor", accessor)
        return try await store.revokeTree(accessor: accessor)
    }

    /// Revokes a token alone; its children become orphans.
    public func revokeOrphan(_ grant: Grant, token: String) async throws {
        guard TokenFormat.isWellFormed(token), let entry = try await store.lookup(hash: try hash(token)) else { return }
        grant.auditFact("revoked.accessor", entry.accessor)
        try await store.revokeOrphaningChildren(accessor: entry.accessor)
    }

    /// Deletes expired tokens (their children with them); a periodic task of the service.
    @discardableResult
    public func tidy() async throws -> Int {
        try await store.deleteExpired(before: WallClock.now)
    }

    /// Vault's display names: `token-<name>` for tokens made through the token store.
    static func displayName(_ requested: String?, path: String) -> String {
        let name = (requested ?? "").filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }.prefix(64)
        guard path.hasPrefix("auth/token/") else { return name.isEmpty ? "token" : String(name) }
        if name.isEmpty || name == "token" { return "token" }
        return "token-" + name
    }
}
