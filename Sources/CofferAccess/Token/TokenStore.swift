import CofferStore
import CofferCrypto
import Foundation
import Synchronization

/// Tokens in the database (`tokens`), found by the keyed hash of the token string.
///
/// The hash key is the hierarchy's token HMAC key, so a stolen database gives no token and no way to
/// test guesses offline; the stored hash is compared again in constant time after the indexed lookup.
struct TokenStore: Sendable {
    let database: any Database

    static let columns: SQLQuery = """
        SELECT accessor, parent_accessor, policies, meta, display_name, path, creation_ttl, explicit_max_ttl, num_uses,
               renewable, created_at, expires_at, max_expires_at, token_hash, bound_cidrs, period, role, last_renewal_at FROM tokens
        """

    func insert(_ entry: TokenEntry, hash: [UInt8]) async throws {
        try await database.transaction { conn in try Self.insert(entry, hash: hash, on: conn) }
    }

    static func insert(_ entry: TokenEntry, hash: [UInt8], on conn: any SQLConnection) throws {
        try conn.execute("""
            INSERT INTO tokens (accessor, token_hash, parent_accessor, policies, meta, display_name, path, creation_ttl,
                                explicit_max_ttl, num_uses, renewable, created_at, expires_at, max_expires_at, bound_cidrs, period, role)
            VALUES (\(entry.accessor), \(hash), \(entry.parentAccessor), \(encode(entry.policies)), \(entry.meta.map(encode)),
                    \(entry.displayName), \(entry.path), \(entry.creationTTL), \(entry.explicitMaxTTL), \(entry.numUses),
                    \(entry.renewable), \(entry.createdAt), \(entry.expiresAt), \(entry.maxExpiresAt),
                    \(entry.boundCIDRs.isEmpty ? nil : encode(entry.boundCIDRs)), \(entry.period), \(entry.role))
            """)
    }

    /// The token whose keyed hash is `hash`, read on `conn` (the Gate reads token and policies together).
    static func lookup(hash: [UInt8], on conn: any SQLConnection) throws -> TokenEntry? {
        guard let row = try conn.queryFirst("\(columns) WHERE token_hash = \(hash)") else { return nil }
        let stored: [UInt8] = try row.decode(at: 13)
        guard ConstantTime.equals(stored, hash) else { return nil }
        return try entry(row)
    }

    func lookup(accessor: String) async throws -> TokenEntry? {
        try await database.read { conn in try conn.queryFirst("\(Self.columns) WHERE accessor = \(accessor)").map(Self.entry) }
    }

    func lookup(hash: [UInt8]) async throws -> TokenEntry? {
        try await database.read { conn in try Self.lookup(hash: hash, on: conn) }
    }

    /// Spends one use of a token with limited uses. The last use is allowed and revokes the token (and its
    /// children), as in Vault. Returns `false` when no use is left (a concurrent request took the last one).
    func spendUse(accessor: String) async throws -> Bool {
        try await database.transaction { conn in
            if try conn.execute("UPDATE tokens SET num_uses = num_uses - 1 WHERE accessor = \(accessor) AND num_uses > 1") == 1 {
                return true
            }
            // The last use: the DELETE's row count decides, so of concurrent requests spending it only one
            // succeeds (PostgreSQL re-checks `num_uses = 1` on the locked row; the loser deletes nothing).
            guard try conn.execute("DELETE FROM tokens WHERE accessor = \(accessor) AND num_uses = 1") == 1 else { return false }
            try Self.revokeTree(accessor: accessor, on: conn)
            return true
        }
    }

    /// Revokes `accessor` and every token below it. Returns how many were revoked (0 for an unknown accessor).
    @discardableResult
    func revokeTree(accessor: String) async throws -> Int {
        try await database.transaction { conn in try Self.revokeTree(accessor: accessor, on: conn) }
    }

    @discardableResult
    static func revokeTree(accessor: String, on conn: any SQLConnection) throws -> Int {
        try conn.execute("""
            DELETE FROM tokens WHERE accessor IN (
                WITH RECURSIVE tree(accessor) AS (
                    SELECT accessor FROM tokens WHERE accessor = \(accessor)
                    UNION
                    SELECT t.accessor FROM tokens t JOIN tree ON t.parent_accessor = tree.accessor
                )
                SELECT accessor FROM tree)
            """)
    }

    /// Revokes `accessor` alone; its children become orphans (Vault's `revoke-orphan`).
    func revokeOrphaningChildren(accessor: String) async throws {
        try await database.transaction { conn in
            try conn.execute("UPDATE tokens SET parent_accessor = NULL WHERE parent_accessor = \(accessor)")
            try conn.execute("DELETE FROM tokens WHERE accessor = \(accessor)")
        }
    }

    /// Moves the expiry of a renewable token to `now + increment` (its creation TTL when `increment` is nil; a
    /// periodic token's period whatever was asked, as in Vault), never past its maximum. Returns the updated
    /// entry, or `nil` when the token is gone.
    func renew(accessor: String, increment: Int64?, now: Date) async throws -> TokenEntry? {
        try await database.transaction { conn in
            guard let entry = try conn.queryFirst("\(Self.columns) WHERE accessor = \(accessor)").map(Self.entry) else { return nil }
            guard entry.renewable, entry.expiresAt != nil else {
                throw AccessError(.invalidRequest, "lease is not renewable: the token was created with renewable=false or has no TTL")
            }
            guard !entry.isExpired(at: now) else { return nil }
            let seconds = entry.period > 0 ? entry.period : increment.map { $0 > 0 ? $0 : entry.creationTTL } ?? entry.creationTTL
            var expiry = now.addingTimeInterval(TimeInterval(seconds)).roundedToStoredPrecision
            if let limit = entry.maxExpiresAt { expiry = min(expiry, limit) }
            try conn.execute("UPDATE tokens SET expires_at = \(expiry), last_renewal_at = \(now.roundedToStoredPrecision) WHERE accessor = \(accessor)")
            return try conn.queryFirst("\(Self.columns) WHERE accessor = \(accessor)").map(Self.entry)
        }
    }

    /// Deletes tokens that expired before `now` (lookups refuse them already; this keeps the table small).
    @discardableResult
    func deleteExpired(before now: Date) async throws -> Int {
        try await database.transaction { conn in
            var removed = 0
            let expired = try conn.query("SELECT accessor FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= \(now)")
            for row in expired { removed += try Self.revokeTree(accessor: try row.decode(String.self, at: 0), on: conn) }
            return removed
        }
    }

    /// Takes over the initial root token that `init` recorded (as a keyed hash) into `tokens`, once.
    /// Returns whether `hash` was that token.
    func adoptInitialRootToken(hash: [UInt8], now: Date) async throws -> TokenEntry? {
        try await database.transaction { conn in
            guard let row = try conn.queryFirst("SELECT accessor, token_hash, created_at FROM initial_root_token WHERE revoked_at IS NULL"),
                ConstantTime.equals(try row.decode([UInt8].self, at: 1), hash)
            else { return nil }
            let entry = TokenEntry(accessor: try row.decode(at: 0), parentAccessor: nil, policies: [Policy.rootName], meta: nil,
                                   displayName: "root", path: "sys/init", creationTTL: 0, explicitMaxTTL: 0, numUses: 0,
                                   renewable: false, createdAt: try row.decode(at: 2), expiresAt: nil, maxExpiresAt: nil)
            // Marked as taken over, so that revoking it in `tokens` is final. Only one of several requests
            // racing on its first use does it (the row lock makes the others find it taken).
            guard try conn.execute("UPDATE initial_root_token SET revoked_at = \(now) WHERE accessor = \(entry.accessor) AND revoked_at IS NULL") == 1
            else { return nil }
            try Self.insert(entry, hash: hash, on: conn)
            return entry
        }
    }

    // MARK: encoding

    static func entry(_ row: SQLRow) throws -> TokenEntry {
        var entry = TokenEntry(
            accessor: try row.decode(at: 0), parentAccessor: try row.decode(at: 1),
            policies: try decodeList(try row.decode(at: 2)), meta: try (row.decode(String?.self, at: 3)).map(decodeMap),
            displayName: try row.decode(at: 4), path: try row.decode(at: 5), creationTTL: try row.decode(at: 6),
            explicitMaxTTL: try row.decode(at: 7), numUses: try row.decode(at: 8), renewable: try row.decode(at: 9),
            createdAt: try row.decode(at: 10), expiresAt: try row.decode(at: 11), maxExpiresAt: try row.decode(at: 12))
        entry.boundCIDRs = try (row.decode(String?.self, at: 14)).map(decodeList) ?? []
        entry.period = try row.decode(at: 15)
        entry.role = try row.decode(at: 16)
        entry.lastRenewalAt = try row.decode(at: 17)
        return entry
    }

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// Decoded lists by their text: the same few policy lists are read on every request.
    private static let decodedLists = Mutex<[String: [String]]>([:])

    static func decodeList(_ text: String) throws -> [String] {
        if let cached = decodedLists.withLock({ $0[text] }) { return cached }
        let list = try JSONDecoder().decode([String].self, from: Data(text.utf8))
        decodedLists.withLock { cache in
            if cache.count > 4096 { cache.removeAll() }
            cache[text] = list
        }
        return list
    }

    static func decodeMap(_ text: String) throws -> [String: String] {
        try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }
}
