public import CofferCrypto
public import struct Foundation.Date

/// Chaining, checkpointing and verifying the audit trail.
public enum AuditChain {
    /// The hash before the first record.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The record's hash: BLAKE2b-256(previous hash ‖ canonical encoding).
    public static func hash(_ record: AuditRecord, previous: [UInt8]) throws -> [UInt8] {
        try BLAKE2b.hash(previous + record.canonicalEncoding, length: 32)
    }

    /// The same hash from a pre-encoded body (``AuditRecord/canonicalBody(time:fields:)``), as the writer computes it.
    static func hash(sequence: Int64, body: [UInt8], previous: [UInt8]) throws -> [UInt8] {
        try BLAKE2b.hash(previous + AuditRecord.canonicalHead(sequence: sequence) + body, length: 32)
    }

    /// `record` with its hash filled in after `previous`.
    public static func chained(_ record: AuditRecord, previous: [UInt8]) throws -> AuditRecord {
        var chained = record
        chained.hash = try hash(record, previous: previous)
        return chained
    }

    /// A checkpoint of `head` at `sequence`, signed.
    public static func checkpoint(sequence: Int64, head: [UInt8], time: Date, signer: borrowing Ed25519SigningKey) -> AuditCheckpoint {
        AuditCheckpoint(sequence: sequence, head: head, time: time,
                        signature: signer.sign(AuditCheckpoint.message(sequence: sequence, head: head, time: time)))
    }

    /// What verification found: the first problem, or that the trail is whole.
    public enum Finding: Sendable, Equatable, CustomStringConvertible {
        case intact(entries: Int64)
        /// Entry `sequence` does not hash to what is stored or chained: altered, or the entry before it was.
        case altered(sequence: Int64)
        /// Numbering jumps from `after` to `next`: entries were removed.
        case removed(after: Int64, next: Int64)
        /// Numbering goes backwards or repeats at `sequence`: entries were reordered or inserted.
        case outOfOrder(sequence: Int64)
        /// A checkpoint's signature does not verify.
        case badCheckpoint(sequence: Int64)
        /// The trail ends before a checkpoint that was witnessed: its tail was cut off.
        case truncated(entries: Int64, witnessed: Int64)
        /// A checkpoint's head does not match the chain at its sequence.
        case checkpointMismatch(sequence: Int64)

        public var isIntact: Bool { if case .intact = self { true } else { false } }

        public var description: String {
            switch self {
            case .intact(let entries): "intact: \(entries) entries, every hash and checkpoint verified"
            case .altered(let sequence): "entry \(sequence) was altered (its hash does not match)"
            case .removed(let after, let next): "entries \(after + 1)…\(next - 1) were removed"
            case .outOfOrder(let sequence): "entry \(sequence) is out of order (reordered or inserted)"
            case .badCheckpoint(let sequence): "the checkpoint at entry \(sequence) has an invalid signature"
            case .truncated(let entries, let witnessed): "the trail was truncated: it ends at entry \(entries), but entry \(witnessed) was witnessed"
            case .checkpointMismatch(let sequence): "the checkpoint at entry \(sequence) does not match the chain"
            }
        }
    }

    /// Recomputes the chain over `records` (in stored order, starting at sequence 1), checks every
    /// checkpoint's signature with `publicKey` and its head against the chain, and compares the end of the
    /// trail with the newest `witnessed` checkpoint (from outside the database).
    public static func verify(_ records: [AuditRecord], checkpoints: [AuditCheckpoint], witnessed: AuditCheckpoint?,
                              publicKey: [UInt8]) throws -> Finding {
        var previous = genesis
        var expected: Int64 = 1
        var heads: [Int64: [UInt8]] = [:]
        for (index, record) in records.enumerated() {
            if record.sequence > expected {
                // The missing number further on means a reordering; nowhere means a removal.
                let missing = expected
                if records[(index + 1)...].contains(where: { $0.sequence == missing }) { return .outOfOrder(sequence: record.sequence) }
                return .removed(after: expected - 1, next: record.sequence)
            }
            if record.sequence < expected { return .outOfOrder(sequence: record.sequence) }
            let hash = try hash(record, previous: previous)
            guard ConstantTime.equals(hash, record.hash) else { return .altered(sequence: record.sequence) }
            heads[record.sequence] = hash
            previous = hash
            expected += 1
        }
        let last = expected - 1
        for checkpoint in checkpoints.sorted(by: { $0.sequence < $1.sequence }) + (witnessed.map { [$0] } ?? []) {
            let message = AuditCheckpoint.message(sequence: checkpoint.sequence, head: checkpoint.head, time: checkpoint.time)
            guard Ed25519SigningKey.verify(signature: checkpoint.signature, message: message, publicKey: publicKey) else {
                return .badCheckpoint(sequence: checkpoint.sequence)
            }
            guard checkpoint.sequence <= last else { return .truncated(entries: last, witnessed: checkpoint.sequence) }
            guard let head = heads[checkpoint.sequence], ConstantTime.equals(head, checkpoint.head) else {
                return .checkpointMismatch(sequence: checkpoint.sequence)
            }
        }
        return .intact(entries: last)
    }
}

/// Replaces sensitive values with `hmac:` + keyed BLAKE2b under the audit key, as Vault's audit hashing
/// does, so that an auditor holding the service's help (`coffer audit hash`) can check whether a known
/// value was returned, and nobody can read it from the trail.
public struct AuditHasher: Sendable {
    private let key: SecureHandle

    public init(key: SecureHandle) {
        self.key = key
    }

    public func hash(_ value: String) throws -> String {
        "hmac:" + Hex.encode(try BLAKE2b.hash(Array(value.utf8), key: key.bytes, length: 32))
    }

    /// The same hash of secret bytes (a secret's data), read in guarded memory.
    public func hash(secret: borrowing SecureBytes) throws -> String {
        "hmac:" + Hex.encode(try BLAKE2b.hash(secret: secret, key: key.bytes, length: 32))
    }
}
