public import CofferCrypto
public import CofferStore
import Foundation
public import Logging

/// How the audit trail is written.
public struct AuditConfiguration: Sendable {
    /// A request whose entry is not durable within this time fails with 503, and its result is withheld.
    public var durableWithin: Duration
    /// A signed checkpoint after this many entries…
    public var checkpointEvery: Int64
    /// …or after this long, whichever comes first.
    public var checkpointInterval: Duration
    /// Where checkpoints are also written, outside the database.
    public var witness: AuditWitness
    /// Most entries in one group commit.
    public var batchLimit: Int
    /// Entries waiting beyond this are refused at once (503) instead of queueing without bound.
    public var maxPending: Int
    /// Extra copies of every committed entry as JSON lines (a file a SIEM tails, or stdout). Best effort:
    /// the database is the trail; a copy that cannot be written is logged, not fatal.
    public var copies: [AuditCopy]

    public init(durableWithin: Duration = .seconds(2), checkpointEvery: Int64 = 1000, checkpointInterval: Duration = .seconds(60),
                witness: AuditWitness = .log, batchLimit: Int = 512, maxPending: Int = 20_000, copies: [AuditCopy] = []) {
        self.copies = copies
        self.durableWithin = durableWithin
        self.checkpointEvery = checkpointEvery
        self.checkpointInterval = checkpointInterval
        self.witness = witness
        self.batchLimit = batchLimit
        self.maxPending = maxPending
    }
}

/// Where committed entries are also copied, one JSON line each (the format of `coffer audit export`).
public enum AuditCopy: Sendable, Equatable {
    case file(String)
    case stdout
}

/// The append-only witness of checkpoints, outside the database: a chain alone cannot show that its
/// newest entries were cut off, a checkpoint kept elsewhere can.
public enum AuditWitness: Sendable, Equatable {
    /// A file opened for appending (in another folder, ideally on another disk or a log shipper's input).
    case file(String)
    /// Standard output, one JSON line per checkpoint (for a container's log collector).
    case stdout
    /// The service log at `notice` level (the default when nothing else is configured).
    case log
}

/// The tamper-evident audit trail: entries numbered without gaps, hash-chained, committed in groups,
/// checkpointed with Ed25519 signatures.
///
/// ``append(_:)`` returns only once the entry is committed (durable on SQLite with `synchronous=FULL`,
/// and on PostgreSQL at commit). Entries arriving while a commit runs wait for the next one, so many
/// requests share one transaction and one fsync. The chain head lives in `audit_head` and is taken under
/// the write lock inside every append transaction (`FOR UPDATE` on PostgreSQL), so several instances on
/// one database extend one chain without a fork or a gap.
public actor AuditLog {
    public enum Health: Sendable, Equatable {
        case ok
        /// The last commit failed or an entry waited past the bound: requests are failing with 503.
        case failing(String)
    }

    private struct Waiter {
        let continuation: CheckedContinuation<Void, any Error>
        let deadline: ContinuousClock.Instant
    }

    private let database: any Database
    private let configuration: AuditConfiguration
    private let signingSeed: @Sendable () async -> SecureHandle?
    private let logger: Logger
    private var pending: [(id: Int, entry: AuditEntry)] = []
    private var waiters: [Int: Waiter] = [:]
    private var nextID = 0
    private var writing = false
    private var sweeping = false
    private var lastCheckpoint = ContinuousClock.now
    public private(set) var health: Health = .ok
    /// Entries committed by this instance, and commits (for the benchmark's entries-per-commit figure).
    public private(set) var committedEntries = 0
    public private(set) var commits = 0

    /// - Parameter signingSeed: the audit signing seed while unsealed (checkpoints wait for it), `nil` when sealed.
    public init(database: any Database, configuration: AuditConfiguration = .init(), logger: Logger,
                signingSeed: @escaping @Sendable () async -> SecureHandle?) {
        self.database = database
        self.configuration = configuration
        self.logger = logger
        self.signingSeed = signingSeed
    }

    /// Appends `entry` and returns once it is committed.
    /// - Throws: ``AccessError`` `.auditUnavailable` when it is not committed within the configured bound
    ///   (or the commit failed): the caller must not return the request's result.
    public func append(_ entry: AuditEntry) async throws {
        guard pending.count < configuration.maxPending else {
            health = .failing("more than \(configuration.maxPending) audit entries are waiting")
            throw Self.unavailable
        }
        let id = nextID
        nextID += 1
        pending.append((id, entry))
        let deadline = ContinuousClock.now + configuration.durableWithin
        try await withCheckedThrowingContinuation { continuation in
            waiters[id] = Waiter(continuation: continuation, deadline: deadline)
            startWriter()
            startSweeper()
        }
    }

    /// Appends without waiting (entries whose request has already been answered, such as a timeout note).
    public func appendDetached(_ entry: AuditEntry) {
        guard pending.count < configuration.maxPending else { return }
        pending.append((nextID, entry))
        nextID += 1
        startWriter()
    }

    static let unavailable = AccessError(.auditUnavailable, "the audit log could not record this request in time; the request was not completed (see /v1/sys/health)")

    private func startWriter() {
        guard !writing, !pending.isEmpty else { return }
        writing = true
        Task { await self.drain() }
    }

    /// Fails waiters past their deadline. Runs only while someone waits.
    private func startSweeper() {
        guard !sweeping else { return }
        sweeping = true
        Task {
            while self.sweep() { try? await Task.sleep(for: .milliseconds(50)) }
        }
    }

    private func sweep() -> Bool {
        let now = ContinuousClock.now
        for (id, waiter) in waiters where waiter.deadline <= now {
            waiters[id] = nil
            health = .failing("an audit entry was not committed within \(configuration.durableWithin)")
            waiter.continuation.resume(throwing: Self.unavailable)
        }
        if waiters.isEmpty { sweeping = false }
        return sweeping
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(configuration.batchLimit))
            pending.removeFirst(batch.count)
            let dueByTime = ContinuousClock.now - lastCheckpoint >= configuration.checkpointInterval
            let seed = await signingSeed()
            do {
                let (records, checkpoint) = try await write(batch.map(\.entry), seed: seed, checkpointDueByTime: dueByTime)
                committedEntries += batch.count
                commits += 1
                health = .ok
                for (id, _) in batch { waiters.removeValue(forKey: id)?.continuation.resume() }
                if let checkpoint { lastCheckpoint = .now; witness(checkpoint) }
                if !configuration.copies.isEmpty { copy(zip(records, batch.map(\.entry)).map { AuditTrail.Stored(record: $0, entry: $1).json }) }
            } catch {
                logger.error("audit commit failed", metadata: ["coffer.error": "\(error)"])
                health = .failing("the last audit commit failed: \(error)")
                for (id, _) in batch { waiters.removeValue(forKey: id)?.continuation.resume(throwing: Self.unavailable) }
            }
        }
        writing = false
    }

    /// Writes a checkpoint now if entries were added since the last one (the service calls this on a timer,
    /// so a quiet trail is still checkpointed every interval).
    public func checkpointIfDue() async {
        guard !writing, ContinuousClock.now - lastCheckpoint >= configuration.checkpointInterval, let seed = await signingSeed() else { return }
        do {
            if let checkpoint = try await write([], seed: seed, checkpointDueByTime: true).1 { lastCheckpoint = .now; witness(checkpoint) }
        } catch {
            logger.error("audit checkpoint failed", metadata: ["coffer.error": "\(error)"])
        }
    }

    /// One transaction: take the head under the write lock, chain and insert the entries, move the head,
    /// and sign a checkpoint when one is due.
    private func write(_ entries: [AuditEntry], seed: SecureHandle?, checkpointDueByTime: Bool) async throws -> ([AuditRecord], AuditCheckpoint?) {
        let every = configuration.checkpointEvery
        let dialect = database.dialect
        return try await database.transaction { conn in
            let headQuery: SQLQuery = dialect == .postgres
                ? "SELECT sequence, hash FROM audit_head WHERE id = 1 FOR UPDATE" : "SELECT sequence, hash FROM audit_head WHERE id = 1"
            guard let head = try conn.queryFirst(headQuery) else { throw AccessError(.auditUnavailable, "audit_head is missing") }
            var sequence: Int64 = try head.decode(at: 0)
            var previous: [UInt8] = try head.decode(at: 1)
            // Checkpoints are due every `every` entries (at those exact entries) and when the interval has passed.
            var lastCheckpoint = seed == nil ? Int64.max : try conn.queryScalar(Int64.self, "SELECT coalesce(max(sequence), 0) FROM audit_checkpoints") ?? 0
            var due: [(Int64, [UInt8])] = []
            var rows: [[SQLValue]] = []
            var records: [AuditRecord] = []
            rows.reserveCapacity(entries.count)
            for entry in entries {
                sequence += 1
                let record = try AuditChain.chained(AuditRecord(sequence: sequence, time: entry.time, fields: entry.fields), previous: previous)
                previous = record.hash
                records.append(record)
                rows.append([.int(sequence), .timestamp(entry.time), .text(entry.kind.rawValue), .text(entry.requestID), .text(entry.accessor),
                             .text(entry.displayName), .text(entry.path), .text(entry.operation), .text(entry.decision),
                             .int(Int64(entry.status)), .text(entry.encodedFields), .blob(record.hash)])
                if lastCheckpoint != .max, sequence - lastCheckpoint >= every {
                    due.append((sequence, record.hash))
                    lastCheckpoint = sequence
                }
            }
            if !rows.isEmpty {
                try conn.executeBatch("""
                    INSERT INTO audit_log (sequence, time, kind, request_id, accessor, display_name, path, operation, decision, status, fields, hash)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                    """, rows: rows)
                try conn.execute("UPDATE audit_head SET sequence = \(sequence), hash = \(previous) WHERE id = 1")
            }
            guard let seed else { return (records, nil) }
            if checkpointDueByTime, sequence > lastCheckpoint, due.last?.0 != sequence { due.append((sequence, previous)) }
            guard !due.isEmpty else { return (records, nil) }
            let signer = try Ed25519SigningKey(seed: seed.bytes)
            var newest: AuditCheckpoint?
            for (at, hash) in due {
                let checkpoint = AuditChain.checkpoint(sequence: at, head: hash, time: Self.microseconds(Date()), signer: signer)
                try conn.execute("""
                    INSERT INTO audit_checkpoints (sequence, head, time, signature)
                    VALUES (\(checkpoint.sequence), \(checkpoint.head), \(checkpoint.time), \(checkpoint.signature))
                    """)
                newest = checkpoint
            }
            return (records, newest)
        }
    }

    /// Times as both backends store them (microseconds), so a signed time reads back identical.
    static func microseconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1_000_000).rounded() / 1_000_000)
    }

    private func copy(_ lines: [String]) {
        let text = lines.joined(separator: "\n") + "\n"
        for copy in configuration.copies {
            switch copy {
            case .stdout:
                FileHandle.standardOutput.write(Data(text.utf8))
            case .file(let path):
                do { try AuditWitnessFile.append(String(text.dropLast()), to: path) } catch {
                    logger.error("cannot write the audit copy file", metadata: ["coffer.path": "\(path)", "coffer.error": "\(error)"])
                }
            }
        }
    }

    private func witness(_ checkpoint: AuditCheckpoint) {
        let line = AuditCheckpointLine(checkpoint).json
        switch configuration.witness {
        case .log:
            logger.notice("audit checkpoint", metadata: ["coffer.audit.checkpoint": "\(line)"])
        case .stdout:
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        case .file(let path):
            do {
                try AuditWitnessFile.append(line, to: path)
            } catch {
                logger.error("cannot write the audit witness file", metadata: ["coffer.path": "\(path)", "coffer.error": "\(error)"])
                health = .failing("cannot write the audit witness file \(path)")
            }
        }
    }
}

/// A checkpoint as one JSON line (the witness file's format, and `coffer audit verify --witness`).
public struct AuditCheckpointLine: Codable, Sendable {
    public let sequence: Int64
    public let head: String
    /// Microseconds since the epoch (exactly what was signed).
    public let time_us: Int64
    public let signature: String

    public init(_ checkpoint: AuditCheckpoint) {
        sequence = checkpoint.sequence
        head = Hex.encode(checkpoint.head)
        time_us = Int64((checkpoint.time.timeIntervalSince1970 * 1_000_000).rounded())
        signature = Hex.encode(checkpoint.signature)
    }

    public var checkpoint: AuditCheckpoint? {
        guard let head = Hex.decode(head), let signature = Hex.decode(signature) else { return nil }
        return AuditCheckpoint(sequence: sequence, head: head, time: Date(timeIntervalSince1970: Double(time_us) / 1_000_000), signature: signature)
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// Appending to the witness file: opened with O_APPEND, written in one call, fsynced.
public enum AuditWitnessFile {
    public static func append(_ line: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AccessError(.auditUnavailable, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw AccessError(.auditUnavailable, "cannot append to \(path)") }
    }

    /// The newest checkpoint in a witness file, or `nil` for an empty or missing file.
    public static func newest(in path: String) throws -> AuditCheckpoint? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var newest: AuditCheckpoint?
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.isEmpty {
            guard let parsed = try? JSONDecoder().decode(AuditCheckpointLine.self, from: Data(line.utf8)), let checkpoint = parsed.checkpoint else {
                throw AccessError(.invalidRequest, "the witness file \(path) has a line that is not a checkpoint")
            }
            if checkpoint.sequence >= (newest?.sequence ?? 0) { newest = checkpoint }
        }
        return newest
    }
}

/// Lower-case hex.
public enum Hex {
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}
