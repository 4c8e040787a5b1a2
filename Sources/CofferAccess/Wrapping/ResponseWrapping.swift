public import CofferCrypto
public import CofferKeys
import CofferStore
public import Foundation

/// Facts about a wrapping token (`wrap_info`, `sys/wrapping/lookup`); never the token's contents.
public struct WrapInfo: Sendable, Equatable {
    /// Only in the answer that creates it.
    public let token: String?
    public let accessor: String
    public let ttl: Int64
    public let creationTime: Date
    public let creationPath: String
}

/// Response wrapping (Vault's `X-Vault-Wrap-TTL`): a response is sealed under the keyring and stored
/// behind a single-use wrapping token, which is stored only as a keyed hash. Unwrapping deletes it in the
/// same transaction that reads it, so two instances cannot both hand it out.
public struct ResponseWrapping: Sendable {
    let database: any Database
    let tokens: TokenService

    /// Wrapping tokens: `cfw.` and 32 random bytes.
    public static let prefix = "cfw."
    /// Longest wrap TTL accepted (Vault's default max TTL).
    public static let maximumTTL: Int64 = 768 * 3600
    /// Largest response that can be wrapped.
    public static let maximumBytes = 1024 * 1024
    static let table = "wrapped_responses"
    /// How `sys/rewrap` finds each row's binding (the recorded one; the accessor alone for older rows).
    public static let encryptedTable = EncryptedTable(table: table, idColumn: "coalesce(binding_id, accessor)", versionColumn: nil)

    /// Vault's words for a used, expired or unknown wrapping token (HTTP 400).
    public static let invalid = AccessError(.invalidRequest, "wrapping token is not valid or does not exist")

    init(database: any Database, tokens: TokenService) {
        self.database = database
        self.tokens = tokens
    }

    /// Seals `response` (the answer's body) behind a new wrapping token valid for `ttl` seconds.
    public func wrap(_ grant: Grant, response: borrowing SecureBytes, ttl: Int64, creationPath: String) async throws -> WrapInfo {
        guard ttl > 0, ttl <= Self.maximumTTL else {
            throw AccessError(.invalidRequest, "the wrap TTL must be between 1 second and \(Self.maximumTTL / 3600)h")
        }
        guard response.count <= Self.maximumBytes else { throw AccessError(.invalidRequest, "the response is too large to wrap") }
        let sealer = try tokens.keys.sealer()
        let token = Self.prefix + TokenFormat.base64URL(Random.bytes(32))
        let accessor = TokenFormat.newAccessor()
        let hash = try tokens.hash(token)
        let now = Date().roundedToStoredPrecision
        let binding = Self.binding(accessor: accessor, tokenHash: hash)
        let sealed = try sealer.seal(response, binding: binding)
        _ = try await database.transaction { conn in
            try conn.execute("""
                INSERT INTO wrapped_responses (accessor, token_hash, creation_path, created_at, expires_at, key_term, sealed, binding_id)
                VALUES (\(accessor), \(hash), \(creationPath), \(now), \(now.addingTimeInterval(Double(ttl))), \(sealed.term), \(sealed.sealed), \(binding.id))
                """)
        }
        grant.auditFact("wrapping_accessor", accessor)
        grant.auditSensitive("wrapping_token", token)
        return WrapInfo(token: token, accessor: accessor, ttl: ttl, creationTime: now, creationPath: creationPath)
    }

    /// The wrapped response, once: the token is gone afterwards.
    /// - Throws: ``invalid`` for a used, expired, unknown or malformed token.
    public func unwrap(_ grant: Grant, token: String) async throws -> SecureHandle {
        let hash = try hashIfWellFormed(token)
        let now = Date()
        let found = try await database.transaction { conn -> (String, Bool, EncryptedValue)? in
            guard let row = try conn.queryFirst("""
                SELECT accessor, expires_at, key_term, sealed, binding_id FROM wrapped_responses WHERE token_hash = \(hash)
                """) else {
                return nil
            }
            let accessor: String = try row.decode(column: "accessor")
            // Deleted whatever comes next: used once, or expired.
            guard try conn.execute("DELETE FROM wrapped_responses WHERE accessor = \(accessor)") == 1 else { return nil }
            let expires: Date = try row.decode(column: "expires_at")
            guard expires > now else { return nil }
            return (accessor, try row.decode(String?.self, column: "binding_id") != nil,
                    EncryptedValue(term: try row.decode(column: "key_term"), sealed: try row.decode(column: "sealed")))
        }
        guard let (accessor, boundToToken, value) = found else { throw Self.invalid }
        grant.auditFact("wrapping_accessor", accessor)
        let sealer = try tokens.keys.sealer()
        // Bound to the token presented, never to what the row says; a row made to look older (binding_id removed)
        // cannot open under the older binding, since it was not sealed under it.
        let binding = boundToToken ? Self.binding(accessor: accessor, tokenHash: hash) : RecordBinding(table: Self.table, id: accessor, version: 0)
        return SecureHandle(try sealer.open(value, binding: binding))
    }

    /// The token's facts, without using it up.
    public func lookup(_ grant: Grant, token: String) async throws -> WrapInfo {
        let hash = try hashIfWellFormed(token)
        let row = try await database.read { conn in
            try conn.queryFirst("SELECT accessor, creation_path, created_at, expires_at FROM wrapped_responses WHERE token_hash = \(hash)")
        }
        guard let row else { throw Self.invalid }
        let expires: Date = try row.decode(column: "expires_at")
        let created: Date = try row.decode(column: "created_at")
        guard expires > Date() else { throw Self.invalid }
        let accessor: String = try row.decode(column: "accessor")
        grant.auditFact("wrapping_accessor", accessor)
        return WrapInfo(token: nil, accessor: accessor, ttl: Int64(expires.timeIntervalSince(created).rounded()), creationTime: created,
                        creationPath: try row.decode(column: "creation_path"))
    }

    /// A new token for the same response, with the same TTL from now; the old token stops working.
    public func rewrap(_ grant: Grant, token: String) async throws -> WrapInfo {
        let info = try await lookup(grant, token: token)
        let response = try await unwrap(grant, token: token)
        return try await wrap(grant, response: response.bytes, ttl: info.ttl, creationPath: info.creationPath)
    }

    /// What a wrapped response is sealed to: its accessor and the hash of its wrapping token, so a row whose token
    /// hash was replaced (another row's, to unwrap that one's response with one's own token) fails to open.
    static func binding(accessor: String, tokenHash: [UInt8]) -> RecordBinding {
        RecordBinding(table: table, id: accessor + "/" + Hex.encode(tokenHash), version: 0)
    }

    /// Deletes expired wrapped responses; returns how many.
    public func tidy() async throws -> Int {
        let now = Date().roundedToStoredPrecision
        return try await database.transaction { conn in try conn.execute("DELETE FROM wrapped_responses WHERE expires_at <= \(now)") }
    }

    private func hashIfWellFormed(_ token: String) throws -> [UInt8] {
        guard token.hasPrefix(Self.prefix), TokenFormat.isWellFormed(token) else { throw Self.invalid }
        return try tokens.hash(token)
    }
}
