public import CofferCrypto
public import CofferFoundation
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
        let now = WallClock.now.roundedToStoredPrecision
        let binding = Self.binding(accessor: accessor, tokenHash: hash)
        let sealed = try sealer.seal(response, binding: binding)
        let expires = now.addingTimeInterval(Double(ttl))
        let tag = try sealer.tag(
            Self.authenticated(
                accessor: accessor, tokenHash: hash, creationPath: creationPath, createdAt: now,
                expiresAt: expires, bindingID: binding.id))
        _ = try await database.transaction { conn in
            try conn.execute(
                """
                INSERT INTO wrapped_responses (accessor, token_hash, creation_path, created_at, expires_at, key_term, sealed, binding_id,
                                               auth_term, auth_tag)
                VALUES (\(accessor), \(hash), \(creationPath), \(now), \(expires), \(sealed.term), \(sealed.sealed), \(binding.id),
                        \(tag.term), \(tag.tag))
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
        let now = WallClock.now
        let sealer = try tokens.keys.sealer()
        let found = try await database.transaction { conn -> WrappedResponseRecord? in
            guard
                let record = try conn.query(
                    WrappedResponseRecord.self,
                    "SELECT \(columns: WrappedResponseRecord.Column.self) FROM wrapped_responses WHERE token_hash = \(hash)"
                ).first
            else {
                return nil
            }
            // An expiry moved or a creation path changed in the database is refused before the token is spent.
            try sealer.verify(record.authenticated, record.tag)
            // Deleted whatever comes next: used once, or expired.
            guard try conn.execute("DELETE FROM wrapped_responses WHERE accessor = \(record.accessor)") == 1 else { return nil }
            guard record.expiresAt > now else { return nil }
            return record
        }
        guard let found else { throw Self.invalid }
        grant.auditFact("wrapping_accessor", found.accessor)
        // Bound to the token presented, never to what the row says; a row made to look older (binding_id removed)
        // cannot open under the older binding, since it was not sealed under it.
        let binding =
            found.bindingID != nil
            ? Self.binding(accessor: found.accessor, tokenHash: hash) : RecordBinding(table: Self.table, id: found.accessor, version: 0)
        return SecureHandle(try sealer.open(found.value, binding: binding))
    }

    /// The token's facts, without using it up.
    public func lookup(_ grant: Grant, token: String) async throws -> WrapInfo {
        let hash = try hashIfWellFormed(token)
        let record = try await database.read { conn in
            try conn.query(
                WrappedResponseRecord.self,
                "SELECT \(columns: WrappedResponseRecord.Column.self) FROM wrapped_responses WHERE token_hash = \(hash)"
            ).first
        }
        guard let record else { throw Self.invalid }
        try tokens.keys.sealer().verify(record.authenticated, record.tag)
        guard record.expiresAt > WallClock.now else { throw Self.invalid }
        grant.auditFact("wrapping_accessor", record.accessor)
        return WrapInfo(
            token: nil, accessor: record.accessor, ttl: Int64(record.expiresAt.timeIntervalSince(record.createdAt).rounded()),
            creationTime: record.createdAt, creationPath: record.creationPath)
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

    /// A wrapping entry's plain fields (the response itself is sealed), for its tag: its expiry is the wrapping
    /// token's, and its creation path is what a recipient checks before trusting what it unwraps.
    static func authenticated(
        accessor: String, tokenHash: [UInt8], creationPath: String, createdAt: Date, expiresAt: Date,
        bindingID: String?
    ) -> AuthenticatedRow {
        var row = AuthenticatedRow(table, key: accessor)
        row.add("token_hash", tokenHash)
        row.add("creation_path", creationPath)
        row.add("created_at", createdAt)
        row.add("expires_at", expiresAt)
        row.add("binding_id", bindingID)
        return row
    }

    /// The table as ``KeyHierarchy`` sees it.
    static let authenticatedTable = AuthenticatedTable(WrappedResponseRecord.self, table: table, key: [.accessor])

    /// Deletes expired wrapped responses; returns how many.
    public func tidy() async throws -> Int {
        let now = WallClock.now.roundedToStoredPrecision
        return try await database.transaction { conn in try conn.execute("DELETE FROM wrapped_responses WHERE expires_at <= \(now)") }
    }

    private func hashIfWellFormed(_ token: String) throws -> [UInt8] {
        guard token.hasPrefix(Self.prefix), TokenFormat.isWellFormed(token) else { throw Self.invalid }
        return try tokens.hash(token)
    }
}

/// A `wrapped_responses` row: the wrapping token's facts, the sealed response, and the row's tag (checked before
/// any of it is used).
struct WrappedResponseRecord: TaggedRecord {
    let accessor: String
    let tokenHash: [UInt8]
    let creationPath: String
    let createdAt: Date
    let expiresAt: Date
    /// Set for a response sealed to its wrapping token's hash (every one this release makes).
    let bindingID: String?
    let value: EncryptedValue
    let tag: RowTag?

    /// The columns of `wrapped_responses`.
    enum Column: String, TaggedColumn {
        case accessor, tokenHash = "token_hash", creationPath = "creation_path", createdAt = "created_at", expiresAt = "expires_at"
        case bindingID = "binding_id", keyTerm = "key_term", sealed, authTerm = "auth_term", authTag = "auth_tag"
    }

    init(row: SQLRow) throws {
        accessor = try row.decode(Column.accessor)
        tokenHash = try row.decode(Column.tokenHash)
        creationPath = try row.decode(Column.creationPath)
        createdAt = try row.decode(Column.createdAt)
        expiresAt = try row.decode(Column.expiresAt)
        bindingID = try row.decode(Column.bindingID)
        value = EncryptedValue(term: try row.decode(Column.keyTerm), sealed: try row.decode(Column.sealed))
        tag = try row.tag(Column.self)
    }

    var authenticated: AuthenticatedRow {
        ResponseWrapping.authenticated(
            accessor: accessor, tokenHash: tokenHash, creationPath: creationPath, createdAt: createdAt, expiresAt: expiresAt,
            bindingID: bindingID)
    }
}
