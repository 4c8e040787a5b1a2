import CofferAccess
import CofferCrypto
import Foundation
import Testing

struct AuditChainTests {
    /// The signing key's seed: the key itself is non-copyable, so each use re-derives it.
    let seed = SecureHandle(SecureBytes.random(count: 32))
    var publicKey: [UInt8] { (try? Ed25519SigningKey(seed: seed.bytes).publicKey) ?? [] }

    func trail(_ count: Int) throws -> [AuditRecord] {
        var previous = AuditChain.genesis
        var records: [AuditRecord] = []
        for sequence in 1...count {
            let record = try AuditChain.chained(
                AuditRecord(
                    sequence: Int64(sequence), time: Date(timeIntervalSince1970: 1_795_600_000 + Double(sequence)),
                    fields: [("path", "secret/data/app/\(sequence)"), ("operation", "read"), ("decision", "allow")]),
                previous: previous)
            records.append(record)
            previous = record.hash
        }
        return records
    }

    func checkpoint(_ records: [AuditRecord], at sequence: Int) -> AuditCheckpoint {
        // The seed always has the right length, so the key derivation cannot fail.
        AuditChain.checkpoint(
            sequence: Int64(sequence), head: records[sequence - 1].hash, time: Date(),
            signer: (try? Ed25519SigningKey(seed: seed.bytes)) ?? Ed25519SigningKey.generate())
    }

    @Test func intactTrailVerifies() throws {
        let records = try trail(20)
        let finding = try AuditChain.verify(
            records, checkpoints: [checkpoint(records, at: 10)], witnessed: [checkpoint(records, at: 20)],
            publicKey: publicKey
        ).finding
        #expect(finding == .intact(entries: 20))
    }

    @Test func alteredEntryIsNamed() throws {
        var records = try trail(20)
        records[6].fields[2] = ("decision", "deny") // entry 7, hash left as it was
        #expect(try AuditChain.verify(records, checkpoints: [], witnessed: [], publicKey: publicKey).finding == .altered(sequence: 7))
        // Re-hashing the altered entry does not help: the next one no longer chains.
        records[6] = try AuditChain.chained(records[6], previous: records[5].hash)
        #expect(try AuditChain.verify(records, checkpoints: [], witnessed: [], publicKey: publicKey).finding == .altered(sequence: 8))
    }

    @Test func removedReorderedAndInsertedEntriesAreNamed() throws {
        let records = try trail(10)
        var removed = records
        removed.remove(at: 4)
        #expect(try AuditChain.verify(removed, checkpoints: [], witnessed: [], publicKey: publicKey).finding == .removed(after: 4, next: 6))
        var reordered = records
        reordered.swapAt(2, 3)
        #expect(try AuditChain.verify(reordered, checkpoints: [], witnessed: [], publicKey: publicKey).finding == .outOfOrder(sequence: 4))
        var inserted = records
        inserted.insert(records[3], at: 5)
        #expect(try AuditChain.verify(inserted, checkpoints: [], witnessed: [], publicKey: publicKey).finding == .outOfOrder(sequence: 4))
    }

    @Test func truncatedTailIsCaughtByTheWitness() throws {
        let records = try trail(20)
        let witnessed = checkpoint(records, at: 20)
        let cut = Array(records.prefix(15))
        // The chain alone looks fine; the witnessed checkpoint shows the cut.
        #expect(try AuditChain.verify(cut, checkpoints: [], witnessed: [], publicKey: publicKey).finding == .intact(entries: 15))
        #expect(
            try AuditChain.verify(cut, checkpoints: [], witnessed: [witnessed], publicKey: publicKey).finding
                == .truncated(entries: 15, witnessed: 20))
    }

    @Test func forgedOrMismatchedCheckpointsAreCaught() throws {
        let records = try trail(10)
        let good = checkpoint(records, at: 5)
        var signature = good.signature
        signature[0] ^= 1
        let forged = AuditCheckpoint(sequence: 5, head: good.head, time: good.time, signature: signature)
        #expect(
            try AuditChain.verify(records, checkpoints: [forged], witnessed: [], publicKey: publicKey).finding
                == .badCheckpoint(sequence: 5))
        let other = Ed25519SigningKey.generate()
        let wrongKey = AuditChain.checkpoint(sequence: 5, head: records[4].hash, time: Date(), signer: other)
        #expect(
            try AuditChain.verify(records, checkpoints: [wrongKey], witnessed: [], publicKey: publicKey).finding
                == .badCheckpoint(sequence: 5))
        let wrongHead = AuditChain.checkpoint(
            sequence: 5, head: records[3].hash, time: Date(), signer: try Ed25519SigningKey(seed: seed.bytes))
        #expect(
            try AuditChain.verify(records, checkpoints: [wrongHead], witnessed: [], publicKey: publicKey).finding
                == .checkpointMismatch(sequence: 5))
    }

    @Test func canonicalEncodingSeparatesFields() {
        let a = AuditRecord(sequence: 1, time: Date(timeIntervalSince1970: 0), fields: [("a", "bc")])
        let b = AuditRecord(sequence: 1, time: Date(timeIntervalSince1970: 0), fields: [("ab", "c")])
        #expect(a.canonicalEncoding != b.canonicalEncoding)
    }

    @Test func hasherIsKeyedAndStable() throws {
        let key = SecureHandle(SecureBytes.random(count: 32))
        let hasher = AuditHasher(key: key)
        let value = try hasher.hash("hunter2")
        #expect(value.hasPrefix("hmac:") && value.count == 5 + 64)
        #expect(!value.contains("hunter2"))
        #expect(try hasher.hash("hunter2") == value)
        #expect(try AuditHasher(key: SecureHandle(SecureBytes.random(count: 32))).hash("hunter2") != value)
    }
}
