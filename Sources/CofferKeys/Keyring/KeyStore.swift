import CofferCrypto
import CofferFoundation
import CofferStore
import Foundation

/// The SQL of the key hierarchy: `seal_config`, `keyring`, `system_keys`, `initial_root_token`.
/// Everything written here is ciphertext or a keyed hash; the root key is never passed to the database.
struct KeyStore: Sendable {
    let database: any Database

    func loadConfiguration() async throws -> SealConfiguration? {
        try await database.read { conn in
            try conn.query(SealConfiguration.self, "SELECT \(columns: SealConfiguration.Column.self) FROM seal_config WHERE id = 1").first
        }
    }

    /// Data keys and system keys, still sealed.
    struct SealedKeys: Sendable {
        var keyring: [KeyringRecord]
        var system: [SystemKeyRecord]
    }

    func loadSealedKeys() async throws -> SealedKeys {
        try await database.read { conn in
            SealedKeys(
                keyring: try conn.query(
                    KeyringRecord.self, "SELECT \(columns: KeyringRecord.Column.self) FROM keyring ORDER BY term"),
                system: try conn.query(
                    SystemKeyRecord.self, "SELECT \(columns: SystemKeyRecord.Column.self) FROM system_keys ORDER BY purpose"))
        }
    }

    static func keyringAD(term: Int64) -> [UInt8] { Array("keyring|\(term)".utf8) }
    static func systemAD(purpose: String) -> [UInt8] { Array("system_keys|\(purpose)".utf8) }

    /// Writes everything `init` creates, in one transaction: a crash leaves either nothing or all of it.
    /// - Throws: ``KeysError`` `.alreadyInitialized` when another process initialised first.
    func writeInitial(
        configuration: SealConfiguration, firstKey: AEAD.Box, systemKeys: [(String, AEAD.Box)],
        rootTokenAccessor: String, rootTokenHash: [UInt8]
    ) async throws {
        let now = Date()
        do {
            try await database.transaction { conn in
                let params = configuration.method.argon2Columns
                let (t, n) = configuration.method.thresholdAndShares
                try conn.execute(
                    """
                    INSERT INTO seal_config (id, method, secret_shares, secret_threshold, argon2_ops, argon2_mem, argon2_salt,
                                             key_check, root_generation, created_at, updated_at)
                    VALUES (1, \(configuration.method.name), \(n), \(t), \(params.0), \(params.1), \(params.2),
                            \(configuration.keyCheck), \(configuration.rootGeneration), \(now), \(now))
                    """)
                try conn.execute(
                    """
                    INSERT INTO keyring (term, status, nonce, ciphertext, created_at)
                    VALUES (1, 'active', \(firstKey.nonce), \(firstKey.ciphertext), \(now))
                    """)
                for (purpose, box) in systemKeys {
                    try conn.execute(
                        """
                        INSERT INTO system_keys (purpose, nonce, ciphertext, created_at)
                        VALUES (\(purpose), \(box.nonce), \(box.ciphertext), \(now))
                        """)
                }
                try conn.execute(
                    """
                    INSERT INTO initial_root_token (accessor, token_hash, created_at) VALUES (\(rootTokenAccessor),
                    \(rootTokenHash), \(now))
                    """)
            }
        } catch StoreError.Code.uniqueViolation {
            throw KeysError(.alreadyInitialized, "Coffer is already initialised")
        }
    }

    /// Adds term `term` as active and makes every other active term decrypt-only, atomically, if the root key
    /// is still of `generation`: the transaction first takes the seal configuration's row, as a rekey's does, so
    /// a rotation and a rekey never interleave (a term sealed under a root key a rekey just replaced would be
    /// lost at the next unseal).
    func addTerm(_ term: Int64, box: AEAD.Box, generation: Int64) async throws -> Date {
        let now = Date()
        try await database.transaction { conn in
            guard try conn.execute("UPDATE seal_config SET updated_at = \(now) WHERE id = 1 AND root_generation = \(generation)") == 1
            else {
                throw KeysError(
                    .invalidRequest,
                    "the root key was changed by a rekey on another instance: seal and unseal this one with the new keys, then rotate")
            }
            try conn.execute("UPDATE keyring SET status = 'decrypt-only' WHERE status = 'active'")
            try conn.execute(
                """
                INSERT INTO keyring (term, status, nonce, ciphertext, created_at) VALUES (\(term), 'active', \(box.nonce),
                \(box.ciphertext), \(now))
                """)
        }
        return now
    }

    /// Replaces the seal configuration and re-encrypted key rows in one transaction, only if the stored root
    /// generation is still `generation` (two rekeys at once cannot both win).
    func rekey(from generation: Int64, to configuration: SealConfiguration, keyring: [(Int64, AEAD.Box)], system: [(String, AEAD.Box)])
        async throws
    {
        let now = Date()
        try await database.transaction { conn in
            let params = configuration.method.argon2Columns
            let (t, n) = configuration.method.thresholdAndShares
            let updated = try conn.execute(
                """
                UPDATE seal_config SET method = \(configuration.method.name), secret_shares = \(n), secret_threshold = \(t),
                    argon2_ops = \(params.0), argon2_mem = \(params.1), argon2_salt = \(params.2), key_check = \(configuration.keyCheck),
                    root_generation = \(configuration.rootGeneration), updated_at = \(now)
                WHERE id = 1 AND root_generation = \(generation)
                """)
            guard updated == 1 else { throw KeysError(.invalidRequest, "another rekey finished first; nothing was changed") }
            // Under the seal configuration's row lock, which a rotation takes too: a term added since the keys were
            // read would stay under the old root key, so the rekey is refused instead (run it again).
            let stored = Set(try conn.query("SELECT term FROM keyring").map { try $0.decode(Int64.self, at: 0) })
            guard stored == Set(keyring.map(\.0)) else {
                throw KeysError(.invalidRequest, "a key rotation ran during the rekey; nothing was changed: start the rekey again")
            }
            for (term, box) in keyring {
                try conn.execute("UPDATE keyring SET nonce = \(box.nonce), ciphertext = \(box.ciphertext) WHERE term = \(term)")
            }
            for (purpose, box) in system {
                try conn.execute("UPDATE system_keys SET nonce = \(box.nonce), ciphertext = \(box.ciphertext) WHERE purpose = \(purpose)")
            }
            // Every row rewritten, nothing committed: after a crash here only the old keys unseal.
            try Failpoints.hit("keys.rekey.transaction")
        }
    }

    /// Instances whose heartbeat in the last `window` names an active term below `term` (they still seal
    /// new records under a term a retire would drop).
    func instances(behind term: Int64, within window: TimeInterval, on conn: any SQLConnection) throws -> [(id: String, term: Int64)] {
        try conn.query(
            KeyInstanceRecord.self,
            """
            SELECT \(columns: KeyInstanceRecord.Column.self) FROM key_instances
            WHERE active_term < \(term) AND heartbeat_at > \(Date().addingTimeInterval(-window))
            ORDER BY instance_id
            """
        ).map { ($0.id, $0.term) }
    }

    /// Records that instance `id` seals under `term` now.
    func heartbeat(id: String, term: Int64) async throws {
        let now = Date()
        try await database.execute(
            """
            INSERT INTO key_instances (instance_id, active_term, heartbeat_at) VALUES (\(id), \(term), \(now))
            ON CONFLICT (instance_id) DO UPDATE SET active_term = excluded.active_term, heartbeat_at = excluded.heartbeat_at
            """)
    }

    /// Marks `terms` retired (they are no longer loaded at unseal), unless a live instance still seals under one.
    /// - Throws: ``KeysError`` `.invalidRequest` naming the instances behind; nothing is retired then.
    func retire(terms: [Int64], active: Int64, window: TimeInterval) async throws {
        try await database.transaction { conn in
            let behind = try instances(behind: active, within: window, on: conn)
            guard behind.isEmpty else {
                let names = behind.map { "\($0.id) (term \($0.term))" }.joined(separator: ", ")
                throw KeysError(
                    .invalidRequest,
                    """
                    not retired: instance(s) \(names) still seal new records under an older term; they pick up term \(active) \
                    within seconds while they run (or stop them), then retire again
                    """
                )
            }
            for term in terms {
                try conn.execute("UPDATE keyring SET status = 'retired' WHERE term = \(term) AND status = 'decrypt-only'")
            }
        }
    }
}
