import CofferCrypto
import CofferFoundation
import CofferKeys
import CofferStore
import Foundation

/// Tokens in the database (`tokens`), found by the keyed hash of the token string.
///
/// The hash key is the hierarchy's token HMAC key, so a stolen database gives no token and no way to
/// test guesses offline; the stored hash is compared again in constant time after the indexed lookup.
///
/// Every row carries an authentication tag over all its fields (``authenticated(_:hash:)``): a row whose
/// policies, uses, TTLs or parent were changed in the database is refused, never used.
struct TokenStore: Sendable {
    let database: any Database
    let keys: KeyHierarchy

    static let columns: SQLQuery = "SELECT \(columns: Stored.Column.self) FROM tokens"

    /// Stores a new token, in the transaction that records `grant`'s request when the Gate left that to it.
    func insert(_ entry: TokenEntry, hash: [UInt8], recordedBy grant: Grant) async throws {
        let sealer = try keys.sealer()
        try await grant.transaction(on: database) { conn in try Self.insert(entry, hash: hash, sealer: sealer, on: conn) }
    }

    static func insert(_ entry: TokenEntry, hash: [UInt8], sealer: Sealer, on conn: any SQLConnection) throws {
        let tag = try sealer.tag(authenticated(entry, hash: hash))
        try conn.execute(
            """
            INSERT INTO tokens (accessor, token_hash, parent_accessor, policies, meta, display_name, path, creation_ttl,
                                explicit_max_ttl, num_uses, renewable, created_at, expires_at, max_expires_at, bound_cidrs, period, role,
                                last_renewal_at, auth_term, auth_tag)
            VALUES (\(entry.accessor), \(hash), \(entry.parentAccessor), \(encode(entry.policies)), \(entry.meta.map(encode)),
                    \(entry.displayName), \(entry.path), \(entry.creationTTL), \(entry.explicitMaxTTL), \(entry.numUses),
                    \(entry.renewable), \(entry.createdAt), \(entry.expiresAt), \(entry.maxExpiresAt),
                    \(entry.boundCIDRs.isEmpty ? nil : encode(entry.boundCIDRs)), \(entry.period), \(entry.role), \(entry.lastRenewalAt),
                    \(tag.term), \(tag.tag))
            """)
    }

    /// Writes `entry`'s changed fields (those a renewal, a spent use or an orphaning changes) with a fresh tag,
    /// if the row still has the tag it was read with. Returns whether it did.
    static func update(_ entry: TokenEntry, hash: [UInt8], from old: RowTag?, sealer: Sealer, on conn: any SQLConnection) throws -> Bool {
        let tag = try sealer.tag(authenticated(entry, hash: hash))
        return try conn.execute(
            """
            UPDATE tokens SET parent_accessor = \(entry.parentAccessor), num_uses = \(entry.numUses), expires_at = \(entry.expiresAt),
                              last_renewal_at = \(entry.lastRenewalAt), auth_term = \(tag.term), auth_tag = \(tag.tag)
            WHERE accessor = \(entry.accessor) AND auth_tag = \(old?.tag ?? [])
            """) == 1
    }

    /// The token whose keyed hash is `hash`, read on `conn` (the Gate reads token and policies together).
    static func lookup(hash: [UInt8], sealer: Sealer, on conn: any SQLConnection) throws -> TokenEntry? {
        guard let row = try conn.queryFirst("\(columns) WHERE token_hash = \(hash)") else { return nil }
        let storedHash: [UInt8] = try row.decode(Stored.Column.hash)
        guard ConstantTime.equals(storedHash, hash) else { return nil }
        return try stored(row, sealer: sealer).entry
    }

    func lookup(accessor: String) async throws -> TokenEntry? {
        let sealer = try keys.sealer()
        return try await database.read { conn in try Self.stored(accessor: accessor, sealer: sealer, on: conn)?.entry }
    }

    func lookup(hash: [UInt8]) async throws -> TokenEntry? {
        let sealer = try keys.sealer()
        return try await database.read { conn in try Self.lookup(hash: hash, sealer: sealer, on: conn) }
    }

    /// A `tokens` row: its entry, hash and tag. Read through ``stored(_:sealer:)``, which checks the tag.
    struct Stored: TaggedRecord {
        var entry: TokenEntry
        let hash: [UInt8]
        let tag: RowTag?

        /// The columns of `tokens`.
        enum Column: String, TaggedColumn {
            case accessor, parentAccessor = "parent_accessor", policies, meta, displayName = "display_name", path
            case creationTTL = "creation_ttl", explicitMaxTTL = "explicit_max_ttl", numUses = "num_uses", renewable
            case createdAt = "created_at", expiresAt = "expires_at", maxExpiresAt = "max_expires_at", hash = "token_hash"
            case boundCIDRs = "bound_cidrs", period, role, lastRenewalAt = "last_renewal_at", authTerm = "auth_term"
            case authTag = "auth_tag"
        }

        init(row: SQLRow) throws {
            func value<T: SQLDecodable>(_ column: Column) throws -> T { try row.decode(column) }
            entry = TokenEntry(
                accessor: try value(.accessor), parentAccessor: try value(.parentAccessor),
                policies: try decodeList(try value(.policies)), meta: try (value(.meta) as String?).map(decodeMap),
                displayName: try value(.displayName), path: try value(.path), creationTTL: try value(.creationTTL),
                explicitMaxTTL: try value(.explicitMaxTTL), numUses: try value(.numUses), renewable: try value(.renewable),
                createdAt: try value(.createdAt), expiresAt: try value(.expiresAt), maxExpiresAt: try value(.maxExpiresAt))
            entry.boundCIDRs = try (value(.boundCIDRs) as String?).map(decodeList) ?? []
            entry.period = try value(.period)
            entry.role = try value(.role)
            entry.lastRenewalAt = try value(.lastRenewalAt)
            hash = try value(.hash)
            tag = try row.tag(Column.self)
        }

        var authenticated: AuthenticatedRow { TokenStore.authenticated(entry, hash: hash) }
    }

    static func stored(accessor: String, sealer: Sealer, on conn: any SQLConnection) throws -> Stored? {
        try conn.queryFirst("\(columns) WHERE accessor = \(accessor)").map { try stored($0, sealer: sealer) }
    }

    /// Spends one use of a token with limited uses. The last use is allowed and revokes the token (and its
    /// children), as in Vault. Returns `false` when no use is left (a concurrent request took the last one).
    func spendUse(accessor: String) async throws -> Bool {
        let sealer = try keys.sealer()
        return try await database.transaction { conn in
            // The update is conditional on the tag read, so of concurrent requests each spends a distinct use
            // (on PostgreSQL a loser re-reads after the winner's commit; SQLite has one writer).
            for _ in 0..<16 {
                guard var stored = try Self.stored(accessor: accessor, sealer: sealer, on: conn), stored.entry.numUses > 0 else {
                    return false
                }
                if stored.entry.numUses > 1 {
                    stored.entry.numUses -= 1
                    if try Self.update(stored.entry, hash: stored.hash, from: stored.tag, sealer: sealer, on: conn) { return true }
                    continue
                }
                // The last use: the DELETE's row count decides, so of concurrent requests spending it only one
                // succeeds (PostgreSQL re-checks the tag on the locked row; the loser deletes nothing).
                guard try conn.execute("DELETE FROM tokens WHERE accessor = \(accessor) AND auth_tag = \(stored.tag?.tag ?? [])") == 1
                else { continue }
                try Self.revokeTree(accessor: accessor, on: conn)
                return true
            }
            return false
        }
    }

    /// Revokes `accessor` and every token below it. Returns how many were revoked (0 for an unknown accessor).
    @discardableResult
    func revokeTree(accessor: String) async throws -> Int {
        try await database.transaction { conn in try Self.revokeTree(accessor: accessor, on: conn) }
    }

    @discardableResult
    static func revokeTree(accessor: String, on conn: any SQLConnection) throws -> Int {
        try conn.execute(
            """
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
        let sealer = try keys.sealer()
        try await database.transaction { conn in
            for row in try conn.query("\(Self.columns) WHERE parent_accessor = \(accessor)") {
                var child = try Self.stored(row, sealer: sealer)
                child.entry.parentAccessor = nil
                _ = try Self.update(child.entry, hash: child.hash, from: child.tag, sealer: sealer, on: conn)
            }
            try conn.execute("DELETE FROM tokens WHERE accessor = \(accessor)")
        }
    }

    /// Moves the expiry of a renewable token to `now + increment` (its creation TTL when `increment` is nil; a
    /// periodic token's period whatever was asked, as in Vault), never past its maximum. Returns the updated
    /// entry, or `nil` when the token is gone.
    func renew(accessor: String, increment: Int64?, now: Date) async throws -> TokenEntry? {
        let sealer = try keys.sealer()
        return try await database.transaction { conn in
            guard var stored = try Self.stored(accessor: accessor, sealer: sealer, on: conn) else { return nil }
            let entry = stored.entry
            guard entry.renewable, entry.expiresAt != nil else {
                throw AccessError(.invalidRequest, "lease is not renewable: the token was created with renewable=false or has no TTL")
            }
            guard !entry.isExpired(at: now) else { return nil }
            let seconds = entry.period > 0 ? entry.period : increment.map { $0 > 0 ? $0 : entry.creationTTL } ?? entry.creationTTL
            var expiry = now.addingTimeInterval(TimeInterval(seconds)).roundedToStoredPrecision
            if let limit = entry.maxExpiresAt { expiry = min(expiry, limit) }
            stored.entry.expiresAt = expiry
            stored.entry.lastRenewalAt = now.roundedToStoredPrecision
            guard try Self.update(stored.entry, hash: stored.hash, from: stored.tag, sealer: sealer, on: conn) else {
                throw AccessError(.invalidRequest, "the token changed while it was renewed; retry")
            }
            return stored.entry
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
        let sealer = try keys.sealer()
        return try await database.transaction { conn in
            guard
                let initial = try conn.query(
                    InitialRootToken.self,
                    "SELECT \(columns: InitialRootToken.Column.self) FROM initial_root_token WHERE revoked_at IS NULL"
                ).first,
                ConstantTime.equals(initial.hash, hash)
            else { return nil }
            let entry = TokenEntry(
                accessor: initial.accessor, parentAccessor: nil, policies: [Policy.rootName], meta: nil,
                displayName: "root", path: "sys/init", creationTTL: 0, explicitMaxTTL: 0, numUses: 0,
                renewable: false, createdAt: initial.createdAt, expiresAt: nil, maxExpiresAt: nil)
            // Marked as taken over, so that revoking it in `tokens` is final. Only one of several requests
            // racing on its first use does it (the row lock makes the others find it taken).
            guard
                try conn.execute(
                    "UPDATE initial_root_token SET revoked_at = \(now) WHERE accessor = \(entry.accessor) AND revoked_at IS NULL") == 1
            else { return nil }
            try Self.insert(entry, hash: hash, sealer: sealer, on: conn)
            return entry
        }
    }

    /// The `initial_root_token` row `init` wrote: the first root token's accessor and keyed hash.
    private struct InitialRootToken: SQLRecord {
        let accessor: String
        let hash: [UInt8]
        let createdAt: Date

        enum Column: String, SQLColumn, CodingKey { case accessor, hash = "token_hash", createdAt = "created_at" }
        typealias CodingKeys = Column
    }

    // MARK: encoding

    /// A row read with ``columns``, authenticated: its fields as a ``TokenEntry``, its hash and its tag.
    /// - Throws: ``KeysError`` `.tampered` when the tag does not authenticate the row (it is reported and not used).
    static func stored(_ row: SQLRow, sealer: Sealer) throws -> Stored {
        let stored = try Stored(row: row)
        try sealer.verify(stored.authenticated, stored.tag)
        return stored
    }

    /// Every field of a token row, for its tag.
    static func authenticated(_ entry: TokenEntry, hash: [UInt8]) -> AuthenticatedRow {
        var row = AuthenticatedRow("tokens", key: entry.accessor)
        row.add("token_hash", hash)
        row.add("parent_accessor", entry.parentAccessor)
        row.add("policies", entry.policies)
        row.add("meta", entry.meta.map(encode))
        row.add("display_name", entry.displayName)
        row.add("path", entry.path)
        row.add("creation_ttl", entry.creationTTL)
        row.add("explicit_max_ttl", entry.explicitMaxTTL)
        row.add("num_uses", entry.numUses)
        row.add("renewable", entry.renewable)
        row.add("created_at", entry.createdAt)
        row.add("expires_at", entry.expiresAt)
        row.add("max_expires_at", entry.maxExpiresAt)
        row.add("bound_cidrs", entry.boundCIDRs)
        row.add("period", entry.period)
        row.add("role", entry.role)
        row.add("last_renewal_at", entry.lastRenewalAt)
        return row
    }

    /// The table as ``KeyHierarchy`` sees it, to move tags across terms and tag an older release's rows.
    static let authenticatedTable = AuthenticatedTable(Stored.self, table: "tokens", key: [.accessor])

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// Decoded lists by their text: the same few policy lists are read on every request.
    private static let decodedLists = Locked<[String: [String]]>([:])

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
