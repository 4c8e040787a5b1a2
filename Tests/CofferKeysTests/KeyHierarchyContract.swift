import CofferCrypto
import CofferFoundation
import CofferKeys
import CofferStore
import CofferTesting
import Foundation
import Testing

/// The key hierarchy on a real database; both backends run every check.
enum KeyHierarchyContract {
    static func migrated(_ db: any Database) async throws -> KeyHierarchy {
        try await Migrator(database: db, migrations: .embedded(for: db.dialect), logger: TestDatabase.logger).migrate()
        return try await KeyHierarchy(database: db)
    }

    static func shamirLifecycle(_ db: any Database) async throws {
        let keys = try await migrated(db)
        #expect(await keys.status.initialized == false)
        let result = try await keys.initialize(method: .shamir(shares: 5, threshold: 3))
        #expect(result.shares.count == 5)
        #expect(result.rootToken.hasPrefix("cfr."))
        var status = await keys.status
        #expect(status.initialized && status.sealed && status.threshold == 3 && status.shares == 5)
        #expect(throws: KeysError.self) { _ = try keys.sealer() }

        status = try await keys.unseal(with: result.shares[4].bytes)
        #expect(status.sealed && status.progress == 1)
        // The same share twice is ignored, as in Vault: no error, no progress.
        #expect(try await keys.unseal(with: result.shares[4].bytes).progress == 1)
        _ = try await keys.unseal(with: result.shares[1].bytes)
        status = try await keys.unseal(with: result.shares[2].bytes)
        #expect(!status.sealed && status.progress == 0)

        // A record sealed now opens after a seal/unseal cycle with a different subset of shares.
        let binding = RecordBinding(table: "api_credentials", id: "app/db", version: 1)
        let value = try keys.sealer().seal(SecureBytes(copying: Array("hunter2".utf8)), binding: binding)
        await keys.seal()
        #expect(await keys.status.sealed)
        #expect(throws: KeysError.self) { _ = try keys.systemKey(.tokenHMAC) }
        for share in [0, 1, 3] { _ = try await keys.unseal(with: result.shares[share].bytes) }
        let opened = try keys.sealer().open(value, binding: binding)
        #expect(opened.unprotectedCopy() == Array("hunter2".utf8))

        // A second process sees the same configuration.
        let other = try await KeyHierarchy(database: db)
        #expect(await other.status.initialized)
        await #expect(throws: KeysError.self) { _ = try await other.initialize(method: .keyFile) }
    }

    /// A share of another secret whose x coordinate differs from `share`'s. x coordinates are random (as in
    /// Vault), so a foreign share could otherwise collide and be refused as a repeat of `share`.
    static func foreignShare(unlike share: SecureHandle) throws -> SecureHandle {
        let x = share.bytes.withUnsafeBytes { $0[32] }
        while true {
            let shares = try Shamir.split(SecureBytes.random(count: 32), shares: 3, threshold: 2)
            if let pick = shares.first(where: { $0.bytes.withUnsafeBytes { $0[32] } != x }) { return pick }
        }
    }

    static func wrongSharesResetProgress(_ db: any Database) async throws {
        let keys = try await migrated(db)
        let result = try await keys.initialize(method: .shamir(shares: 3, threshold: 2))
        let stranger = try foreignShare(unlike: result.shares[0])
        _ = try await keys.unseal(with: result.shares[0].bytes)
        do {
            _ = try await keys.unseal(with: stranger.bytes)
            Issue.record("foreign share accepted")
        } catch let error as KeysError {
            #expect(error.code == .unsealFailed)
        }
        let afterFailure = await keys.status
        #expect(afterFailure.progress == 0 && afterFailure.sealed)
        await #expect(throws: KeysError.self) { _ = try await keys.unseal(with: SecureBytes.random(count: 5)) }
        _ = try await keys.unseal(with: result.shares[2].bytes)
        #expect(try await !keys.unseal(with: result.shares[0].bytes).sealed)
    }

    static func passphraseAndKeyFile(_ db: any Database) async throws {
        let keys = try await migrated(db)
        let parameters = Argon2id.Parameters(opsLimit: 2, memLimit: 8 << 20, salt: Random.bytes(16))
        await #expect(throws: KeysError.self) {
            _ = try await keys.initialize(
                method: .passphrase(parameters), passphrase: SecureHandle(SecureBytes(copying: Array("short".utf8))))
        }
        _ = try await keys.initialize(
            method: .passphrase(parameters), passphrase: SecureHandle(SecureBytes(copying: Array("a long passphrase".utf8))))
        await #expect(throws: KeysError.self) { _ = try await keys.unseal(with: SecureBytes(copying: Array("a wrong passphrase".utf8))) }
        #expect(try await !keys.unseal(with: SecureBytes(copying: Array("a long passphrase".utf8))).sealed)
    }

    static func keyFile(_ db: any Database) async throws {
        let keys = try await migrated(db)
        let result = try await keys.initialize(method: .keyFile)
        let key = try #require(result.keyFileKey)
        await #expect(throws: KeysError.self) { _ = try await keys.unseal(with: SecureBytes.random(count: 32)) }
        #expect(try await !keys.unseal(with: key.bytes).sealed)
        #expect(await keys.status.type == "keyfile")
    }

    static func rotationKeepsOldTermsReadable(_ db: any Database) async throws {
        let keys = try await migrated(db)
        let result = try await keys.initialize(method: .keyFile)
        _ = try await keys.unseal(with: try #require(result.keyFileKey).bytes)
        let binding = RecordBinding(table: "t", id: "1", version: 1)
        let old = try keys.sealer().seal(SecureBytes(copying: [1, 2, 3]), binding: binding)
        #expect(old.term == 1)
        let term = try await keys.rotate()
        #expect(term.term == 2 && term.status == .active)
        let sealer = try keys.sealer()
        let new = try sealer.seal(SecureBytes(copying: [4, 5]), binding: binding)
        #expect(new.term == 2)
        #expect(try sealer.open(old, binding: binding).unprotectedCopy() == [1, 2, 3])
        let statuses = try await keys.keyStatus().map(\.status)
        #expect(statuses == [.decryptOnly, .active])
        // After a restart (seal, unseal) both terms still open.
        await keys.seal()
        _ = try await keys.unseal(with: try #require(result.keyFileKey).bytes)
        #expect(try keys.sealer().open(new, binding: binding).unprotectedCopy() == [4, 5])
    }

    /// Rewrap moves every record onto the active term in batches, leaves them readable, and retires old terms.
    static func rewrapMovesRecordsOntoTheActiveTerm(_ db: any Database) async throws {
        let keys = try await migrated(db)
        let result = try await keys.initialize(method: .keyFile)
        let rootKey = try #require(result.keyFileKey)
        _ = try await keys.unseal(with: rootKey.bytes)
        let blob = db.dialect == .postgres ? "BYTEA" : "BLOB"
        try await db.execute(
            """
            CREATE TABLE vault_items (id TEXT PRIMARY KEY, version BIGINT NOT NULL, key_term BIGINT NOT NULL, sealed
            \(unsafeRaw: blob) NOT NULL)
            """
        )
        let table = EncryptedTable(table: "vault_items")
        func insert(_ id: String, _ version: Int64) async throws {
            let value = try keys.sealer().seal(
                SecureBytes(copying: Array("value-\(id)".utf8)), binding: RecordBinding(table: "vault_items", id: id, version: version))
            try await db.execute(
                "INSERT INTO vault_items (id, version, key_term, sealed) VALUES (\(id), \(version), \(value.term), \(value.sealed))")
        }
        for index in 0..<25 { try await insert(String(format: "item-%02d", index), Int64(index % 3 + 1)) }
        _ = try await keys.rotate()
        try await insert("item-new", 1) // already on term 2
        var progress = try await keys.rewrap([table], batchSize: 10)
        #expect(progress.rewrapped == 10 && progress.remaining == 15 && progress.activeTerm == 2)
        // Interrupted here (a crash): a fresh hierarchy picks up what is left.
        let resumed = try await KeyHierarchy(database: db)
        _ = try await resumed.unseal(with: rootKey.bytes)
        progress = try await resumed.rewrap([table], batchSize: 10)
        #expect(progress.remaining == 5)
        progress = try await resumed.rewrap([table], batchSize: 10, retire: true)
        #expect(progress.rewrapped == 5 && progress.remaining == 0 && progress.retiredTerms == [1])
        #expect(try await resumed.keyStatus().map(\.term) == [2])
        // Every record opens with the keyring that no longer has term 1.
        let sealer = try resumed.sealer()
        let rows = try await db.query("SELECT id, version, key_term, sealed FROM vault_items ORDER BY id")
        #expect(rows.count == 26)
        for row in rows {
            let id: String = try row.decode(at: 0)
            let value = EncryptedValue(term: try row.decode(at: 2), sealed: try row.decode(at: 3))
            #expect(value.term == 2)
            let opened = try sealer.open(value, binding: RecordBinding(table: "vault_items", id: id, version: try row.decode(at: 1)))
            #expect(opened.unprotectedCopy() == Array("value-\(id)".utf8))
        }
    }

    /// Rekey: authorised by the current shares, handed out, written only after the new shares are verified.
    static func rekeyNeedsOldKeysAndVerification(_ db: any Database) async throws {
        let keys = try await migrated(db)
        let initial = try await keys.initialize(method: .shamir(shares: 3, threshold: 2))
        let old = initial.shares
        for share in old.prefix(2) { _ = try await keys.unseal(with: share.bytes) }
        let binding = RecordBinding(table: "t", id: "x", version: 1)
        let record = try keys.sealer().seal(SecureBytes(copying: [42]), binding: binding)

        let started = try await keys.rekeyInit(method: .shamir(shares: 5, threshold: 3))
        #expect(started.started && started.required == 2 && started.newShares == 5)
        #expect(try await keys.rekeyUpdate(with: old[0].bytes, nonce: started.nonce) == nil)
        await #expect(throws: KeysError.self) { _ = try await keys.rekeyUpdate(with: old[1].bytes, nonce: "wrong-nonce") }
        let stranger = try foreignShare(unlike: old[0])
        await #expect(throws: KeysError.self) { _ = try await keys.rekeyUpdate(with: stranger.bytes, nonce: started.nonce) }
        #expect(await keys.rekeyStatus.progress == 0)
        _ = try await keys.rekeyUpdate(with: old[2].bytes, nonce: started.nonce)
        let result = try #require(try await keys.rekeyUpdate(with: old[0].bytes, nonce: started.nonce))
        #expect(result.shares.count == 5)

        // Not verified yet: nothing stored, the old shares still unseal a fresh process.
        let meanwhile = try await KeyHierarchy(database: db)
        for share in old.prefix(2) { _ = try await meanwhile.unseal(with: share.bytes) }
        #expect(await !meanwhile.status.sealed)
        // Shares that are not the new ones are refused once enough are in, and the progress starts over.
        let impostor = try Shamir.split(SecureBytes.random(count: 32), shares: 5, threshold: 3)
        for share in impostor.prefix(2) { #expect(try await !keys.rekeyVerify(with: share.bytes, nonce: started.nonce)) }
        await #expect(throws: KeysError.self) { _ = try await keys.rekeyVerify(with: impostor[2].bytes, nonce: started.nonce) }
        #expect(await keys.rekeyStatus.verificationProgress == 0)
        for share in [result.shares[0], result.shares[2]] {
            #expect(try await !keys.rekeyVerify(with: share.bytes, nonce: started.nonce))
        }
        #expect(try await keys.rekeyVerify(with: result.shares[4].bytes, nonce: started.nonce))
        #expect(await !keys.rekeyStatus.started)

        // Now only the new shares unseal, and the data keys (so every record) are unchanged.
        let after = try await KeyHierarchy(database: db)
        let afterStatus = await after.status
        #expect(afterStatus.threshold == 3 && afterStatus.shares == 5)
        _ = try await after.unseal(with: old[0].bytes)
        _ = try await after.unseal(with: old[1].bytes)
        await #expect(throws: KeysError.self) { _ = try await after.unseal(with: old[2].bytes) } // the old shares are void
        for share in [result.shares[1], result.shares[3], result.shares[4]] { _ = try await after.unseal(with: share.bytes) }
        #expect(try after.sealer().open(record, binding: binding).unprotectedCopy() == [42])
        // The running instance keeps working with the new root key (it can still rotate).
        #expect(try await keys.rotate().term == 2)
    }

    /// A ciphertext moved to another row, table or version, or with any bit flipped, is refused.
    static func recordsAreBoundToTheirPlace(_ db: any Database) async throws {
        let keys = try await migrated(db)
        let result = try await keys.initialize(method: .keyFile)
        _ = try await keys.unseal(with: try #require(result.keyFileKey).bytes)
        let sealer = try keys.sealer()
        let binding = RecordBinding(table: "api_credentials", id: "a", version: 2)
        let value = try sealer.seal(SecureBytes(copying: Array("secret".utf8)), binding: binding)
        for moved in [
            RecordBinding(table: "api_credentials", id: "b", version: 2), RecordBinding(table: "api_credentials", id: "a", version: 1),
            RecordBinding(table: "cache_entries", id: "a", version: 2)
        ] {
            #expect { _ = try sealer.open(value, binding: moved) } throws: { ($0 as? KeysError)?.code == .tampered }
        }
        // Every bit of nonce, ciphertext and tag.
        for index in 0..<(value.sealed.count * 8) {
            var sealed = value.sealed
            sealed[index / 8] ^= 1 << (index % 8)
            #expect(throws: KeysError.self) { _ = try sealer.open(EncryptedValue(term: value.term, sealed: sealed), binding: binding) }
        }
        #expect(throws: KeysError.self) {
            _ = try sealer.open(EncryptedValue(term: value.term, sealed: Array(value.sealed.prefix(39))), binding: binding)
        }
        #expect { _ = try sealer.open(EncryptedValue(term: 9, sealed: value.sealed), binding: binding) } throws: {
            ($0 as? KeysError)?.code == .unknownTerm
        }
    }

    /// Flipping a bit in any stored key field makes unseal fail with a clear error, and changes nothing.
    static func tamperedKeyTablesAreCaught(_ db: any Database) async throws {
        let keys = try await migrated(db)
        let result = try await keys.initialize(method: .keyFile)
        let rootKey = try #require(result.keyFileKey)
        let fields: [(table: String, column: String, key: String)] = [
            ("keyring", "nonce", "term = 1"), ("keyring", "ciphertext", "term = 1"),
            ("system_keys", "nonce", "purpose = 'token-hmac'"), ("system_keys", "ciphertext", "purpose = 'audit-hmac'"),
            ("seal_config", "key_check", "id = 1")
        ]
        for field in fields {
            let original = try await db.read { conn in
                try conn.queryScalar(
                    [UInt8].self, "SELECT \(unsafeRaw: field.column) FROM \(unsafeRaw: field.table) WHERE \(unsafeRaw: field.key)")
            }
            var flipped = try #require(original)
            flipped[flipped.count / 2] ^= 0x10
            try await db.execute(
                "UPDATE \(unsafeRaw: field.table) SET \(unsafeRaw: field.column) = \(flipped) WHERE \(unsafeRaw: field.key)")
            let fresh = try await KeyHierarchy(database: db)
            do {
                _ = try await fresh.unseal(with: rootKey.bytes)
                Issue.record("unsealed with a tampered \(field.table).\(field.column)")
            } catch let error as KeysError {
                #expect(error.code == .tampered || error.code == .unsealFailed, "\(field)")
            }
            #expect(await fresh.status.sealed)
            try await db.execute(
                "UPDATE \(unsafeRaw: field.table) SET \(unsafeRaw: field.column) = \(original) WHERE \(unsafeRaw: field.key)")
        }
        // A data key moved to another term number (so records of that term would open with the wrong key).
        try await db.execute("UPDATE keyring SET term = 7 WHERE term = 1")
        await #expect(throws: KeysError.self) { _ = try await KeyHierarchy(database: db).unseal(with: rootKey.bytes) }
        try await db.execute("UPDATE keyring SET term = 1 WHERE term = 7")
        // A system key moved to another purpose.
        try await db.execute("UPDATE system_keys SET purpose = 'token-hmac-moved' WHERE purpose = 'token-hmac'")
        try await db.execute("UPDATE system_keys SET purpose = 'token-hmac' WHERE purpose = 'audit-hmac'")
        await #expect(throws: KeysError.self) { _ = try await KeyHierarchy(database: db).unseal(with: rootKey.bytes) }
        try await db.execute("UPDATE system_keys SET purpose = 'audit-hmac' WHERE purpose = 'token-hmac'")
        try await db.execute("UPDATE system_keys SET purpose = 'token-hmac' WHERE purpose = 'token-hmac-moved'")
        #expect(try await KeyHierarchy(database: db).unseal(with: rootKey.bytes).sealed == false)
    }
}
