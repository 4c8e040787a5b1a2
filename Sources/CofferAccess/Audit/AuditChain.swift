public import CofferCrypto
import CofferFoundation
public import CofferKeys
public import struct Foundation.Date

/// Chaining, checkpointing and verifying the audit trail.
public enum AuditChain {
    /// The hash before the first record.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// Where a stretch of the chain begins: after entry `sequence`, whose hash is `head`. A stretch after an
    /// archived segment begins at the segment's last entry, which is always a checkpoint's, so the stretch's
    /// first checkpoint names it as its predecessor.
    public struct Anchor: Sendable, Equatable {
        public let sequence: Int64
        public let head: [UInt8]

        public init(sequence: Int64, head: [UInt8]) {
            self.sequence = sequence
            self.head = head
        }

        /// Before the first entry of the trail.
        public static let genesis = Anchor(sequence: 0, head: AuditChain.genesis)
    }

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
    public static func checkpoint(sequence: Int64, head: [UInt8], time: Date, previous: Int64? = nil, signer: borrowing Ed25519SigningKey)
        -> AuditCheckpoint
    {
        AuditCheckpoint(
            sequence: sequence, head: head, time: time,
            signature: signer.sign(AuditCheckpoint.message(sequence: sequence, head: head, time: time, previous: previous)),
            previous: previous)
    }

    /// What verification found: the first problem, or that the trail is whole.
    public enum Finding: Sendable, Equatable, CustomStringConvertible {
        case intact(entries: Int64)
        /// Entry `sequence` does not hash to what is stored or chained, or its tag does not authenticate it:
        /// altered, or the entry before it was.
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
        /// The checkpoint at `sequence` names `previous` as the one before it, but the one before it in the
        /// database is `found`: a checkpoint was removed (or one was inserted).
        case missingCheckpoint(sequence: Int64, previous: Int64, found: Int64)
        /// Entries from `sequence` on are covered by no checkpoint.
        case uncovered(sequence: Int64)
        /// Entry `sequence` has no tag, and no tagged entry after it covers it.
        case unauthenticated(sequence: Int64)
        /// The archive segment that begins at entry `first` is not what was sealed: `reason` says how.
        case badSegment(first: Int64, reason: String)

        public var isIntact: Bool { if case .intact = self { true } else { false } }

        public var description: String {
            switch self {
            case .intact(let entries): "intact: \(entries) entries, every hash and checkpoint verified"
            case .altered(let sequence): "entry \(sequence) was altered (its hash or its tag does not match)"
            case .removed(let after, let next): "entries \(after + 1)…\(next - 1) were removed"
            case .outOfOrder(let sequence): "entry \(sequence) is out of order (reordered or inserted)"
            case .badCheckpoint(let sequence): "the checkpoint at entry \(sequence) has an invalid signature"
            case .truncated(let entries, let witnessed):
                "the trail was truncated: it ends at entry \(entries), but entry \(witnessed) was witnessed"
            case .checkpointMismatch(let sequence): "the checkpoint at entry \(sequence) does not match the chain"
            case .missingCheckpoint(let sequence, let previous, let found):
                """
                a checkpoint was removed: the one at entry \(sequence) follows the one at entry \(previous), but the database has \
                entry \(found) before it
                """
            case .uncovered(let sequence): "entries from \(sequence) on are covered by no signed checkpoint"
            case .unauthenticated(let sequence): "entry \(sequence) has no authentication tag and no tagged entry after it"
            case .badSegment(let first, let reason): "the archive segment from entry \(first): \(reason)"
            }
        }
    }

    /// What a verification checked, and what it found.
    public struct Report: Sendable, Equatable, CustomStringConvertible {
        public var finding: Finding
        /// Entries whose hash was recomputed.
        public var entries: Int64 = 0
        /// Entries whose tag was checked (service-side only: the key is in the service).
        public var tags: Int64 = 0
        /// Checkpoints from the database whose signature, head and predecessor were checked.
        public var checkpoints: Int = 0
        /// Checkpoints from the witness whose signature and head were checked.
        public var witnessRecords: Int = 0
        /// Archive segments whose seal was checked (their rows in the database, or their files offline).
        public var segments: Int = 0
        /// Of those, segments whose file was read and whose entries were recomputed.
        public var segmentFiles: Int = 0
        /// Entries recomputed from segment files (not counted in `entries`).
        public var archivedEntries: Int64 = 0
        /// Segment files that were not found where the archive should hold them (the database's row was checked).
        public var missingSegmentFiles: [String] = []

        /// The first entry the finding names, `nil` when intact.
        public var firstBadSequence: Int64? { finding.firstSequence }

        public var description: String {
            var lines = [
                "checked: \(entries) entries (hashes), \(tags) tags, \(checkpoints) checkpoints, \(witnessRecords) witness records"
            ]
            if segments > 0 {
                lines.append(
                    "archive: \(segments) segments sealed, \(segmentFiles) files read, \(archivedEntries) archived entries recomputed")
            }
            if !missingSegmentFiles.isEmpty {
                lines.append("not found in the archive folder: \(missingSegmentFiles.joined(separator: ", ")) (their seals were checked)")
            }
            lines.append(finding.description)
            if let first = firstBadSequence { lines.append("first bad entry: \(first)") }
            return lines.joined(separator: "\n")
        }
    }

    /// Recomputes the chain over `records` (in stored order, starting after `start`) and checks, in order:
    /// numbering without gaps, every hash, every tag (when `authenticate` is given; an untagged entry must be
    /// followed by a tagged one), every checkpoint's signature, head and predecessor (a removed checkpoint is
    /// found by the next), that the newest checkpoint covers the last entry (when `requireCoverage`), and every
    /// witnessed checkpoint (from outside the database) against the chain, which finds a cut-off tail.
    /// Witnessed checkpoints before `start` belong to the archive and are the caller's to check there.
    public static func verify(
        _ records: [AuditRecord], tags: [RowTag?] = [], checkpoints: [AuditCheckpoint], witnessed: [AuditCheckpoint],
        publicKey: [UInt8], requireCoverage: Bool = false, start: Anchor = .genesis,
        authenticate: ((AuditRecord, RowTag) -> Bool)? = nil
    ) throws -> Report {
        var report = Report(finding: .intact(entries: 0))
        func done(_ finding: Finding) -> Report {
            report.finding = finding
            return report
        }
        var previous = start.head
        var expected = start.sequence + 1
        var heads: [Int64: [UInt8]] = start.sequence > 0 ? [start.sequence: start.head] : [:]
        var untaggedSince: Int64?
        for (index, record) in records.enumerated() {
            if record.sequence > expected {
                // The missing number further on means a reordering; nowhere means a removal.
                let missing = expected
                if records[(index + 1)...].contains(where: { $0.sequence == missing }) {
                    return done(.outOfOrder(sequence: record.sequence))
                }
                return done(.removed(after: expected - 1, next: record.sequence))
            }
            if record.sequence < expected { return done(.outOfOrder(sequence: record.sequence)) }
            let hash = try hash(record, previous: previous)
            guard ConstantTime.equals(hash, record.hash) else { return done(.altered(sequence: record.sequence)) }
            report.entries += 1
            if let authenticate {
                if let tag = index < tags.count ? tags[index] : nil {
                    guard authenticate(record, tag) else { return done(.altered(sequence: record.sequence)) }
                    report.tags += 1
                    untaggedSince = nil
                } else if untaggedSince == nil {
                    untaggedSince = record.sequence
                }
            }
            heads[record.sequence] = hash
            previous = hash
            expected += 1
        }
        let last = expected - 1
        if let untaggedSince { return done(.unauthenticated(sequence: untaggedSince)) }
        /// A checkpoint's signature, and its head against the chain (from the database or the witness alike).
        func problem(with checkpoint: AuditCheckpoint) -> Finding? {
            guard Ed25519SigningKey.verify(signature: checkpoint.signature, message: checkpoint.message, publicKey: publicKey) else {
                return .badCheckpoint(sequence: checkpoint.sequence)
            }
            guard checkpoint.sequence <= last else { return .truncated(entries: last, witnessed: checkpoint.sequence) }
            guard let head = heads[checkpoint.sequence], ConstantTime.equals(head, checkpoint.head) else {
                return .checkpointMismatch(sequence: checkpoint.sequence)
            }
            return nil
        }
        var before = start.sequence
        for checkpoint in checkpoints.sorted(by: { $0.sequence < $1.sequence }) {
            if let finding = problem(with: checkpoint) { return done(finding) }
            // The checkpoint at the anchor is the one its stretch ends on, kept in the table so the writer's next
            // checkpoint can name it: its signature and head are checked, its predecessor is in the archive.
            if let named = checkpoint.previous, named != before, checkpoint.sequence != start.sequence || start.sequence == 0 {
                return done(.missingCheckpoint(sequence: checkpoint.sequence, previous: named, found: before))
            }
            before = checkpoint.sequence
            report.checkpoints += 1
        }
        if requireCoverage, last > before { return done(.uncovered(sequence: before + 1)) }
        for checkpoint in witnessed where checkpoint.sequence >= start.sequence {
            if let finding = problem(with: checkpoint) { return done(finding) }
            report.witnessRecords += 1
        }
        return done(.intact(entries: last))
    }
}

extension AuditChain.Finding {
    /// The entry the finding names first, `nil` when intact.
    public var firstSequence: Int64? {
        switch self {
        case .intact: nil
        case .altered(let sequence), .outOfOrder(let sequence), .badCheckpoint(let sequence), .checkpointMismatch(let sequence),
            .uncovered(let sequence), .unauthenticated(let sequence):
            sequence
        case .missingCheckpoint(_, let previous, let found): min(previous, found) + 1
        case .badSegment(let first, _): first
        case .removed(let after, _): after + 1
        case .truncated(let entries, _): entries + 1
        }
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
