public import CofferCrypto
import CofferFoundation
public import CofferKeys
public import CofferStore
import Foundation
public import Logging

/// The tamper-evident audit trail: entries numbered without gaps, hash-chained, committed in groups,
/// checkpointed with Ed25519 signatures.
///
/// ``append(_:)`` returns only once the entry is committed (durable on SQLite with `synchronous=FULL`,
/// and on PostgreSQL at commit). Entries arriving while a commit runs wait for the next one, so many
/// requests share one transaction and one fsync. The chain head lives in `audit_head` and is taken under
/// the write lock inside every append transaction (`FOR UPDATE` on PostgreSQL), so several instances on
/// one database extend one chain without a fork or a gap.
///
/// ``commit(_:change:)`` runs a change in the same group transaction as its entry: the change and its record
/// commit together or not at all, and writes share commits with every other entry waiting.
public final class AuditLog: Sendable {
    public enum Health: Sendable, Equatable {
        case ok
        /// The last commit failed or an entry waited past the bound: requests are failing with 503.
        case failing(String)
    }

    private struct Waiter {
        let continuation: CheckedContinuation<Void, any Error>
        let deadline: ContinuousClock.Instant
        /// The request a request entry opened: if the entry fails, its request ends and no response follows.
        let opened: String?
        /// Whether the entry carries a change (``commit(_:change:)``).
        let changes: Bool
    }

    /// A change to commit in the entry's transaction (``commit(_:change:)``).
    private typealias Change = @Sendable (any SQLConnection) throws -> Void

    /// An entry waiting for the writer, with the change it records, if any.
    private struct Pending: Sendable {
        let id: Int
        let entry: AuditEntry
        let change: Change?
    }

    /// The queue, behind one lock: appending is a lock and an array append, not a hop to another executor.
    private struct State {
        var pending: [Pending] = []
        var waiters: [Int: Waiter] = [:]
        /// Requests (by id) whose request entry is queued or written but whose response entry is not queued
        /// yet: the writer waits a moment for their response entries rather than spend a commit without them.
        /// A read has no request entry; the Gate marks it open (``expectResponse(of:)``) while it runs.
        var open: Set<String> = []
        var nextID = 0
        var writing = false
        var sweeping = false
        var lastCheckpoint = ContinuousClock.now
        /// The newest checkpoint this instance put in the witness.
        var lastWitnessed: Int64 = 0
        var health: Health = .ok
        var committedEntries = 0
        var commits = 0
        /// Changes the writer has run in the group it is writing, and changes whose waiter gave up first.
        var running: Set<Int> = []
        var cancelled: Set<Int> = []

        mutating func settle(_ batch: [Pending]) {
            for item in batch where item.change != nil {
                running.remove(item.id)
                cancelled.remove(item.id)
            }
        }
    }

    private let database: any Database
    private let configuration: AuditConfiguration
    private let signer: @Sendable () async -> SigningKeyHandle?
    private let sealer: @Sendable () -> Sealer?
    private let logger: Logger
    private let state = Locked(State())
    /// The writer loop's own thread (``WriterExecutor``); one per log, so that logs in one process (tests run
    /// dozens of services) never wait on each other.
    private let writer = WriterExecutor(name: "coffer-audit-writer")

    public var health: Health { state.withLock { $0.health } }
    /// Entries committed by this instance, and commits (for the benchmark's entries-per-commit figure).
    public var committedEntries: Int { state.withLock { $0.committedEntries } }
    public var commits: Int { state.withLock { $0.commits } }

    /// - Parameters:
    ///   - signer: the audit checkpoint key pair while unsealed (checkpoints wait for it), `nil` when sealed.
    ///   - sealer: the keyring while unsealed, to tag each entry (``authenticated(sequence:hash:)``); `nil` when sealed.
    public init(
        database: any Database, configuration: AuditConfiguration = .init(), logger: Logger,
        signer: @escaping @Sendable () async -> SigningKeyHandle?, sealer: @escaping @Sendable () -> Sealer? = { nil }
    ) {
        self.database = database
        self.configuration = configuration
        self.logger = logger
        self.signer = signer
        self.sealer = sealer
    }

    /// An entry's tag covers its sequence and its chained hash, which covers every entry before it: a writer
    /// who rewrites entries and recomputes the (unkeyed) chain cannot make the tags, so the service's verify
    /// finds the first entry changed. Entries written while sealed have no tag; the next tagged entry covers them.
    public static func authenticated(sequence: Int64, hash: [UInt8]) -> AuthenticatedRow {
        var row = AuthenticatedRow("audit_log", key: String(sequence))
        row.add("hash", hash)
        return row
    }

    /// The trail as ``KeyHierarchy`` sees it (rewrap moves the tags; untagged entries were written while sealed).
    public static let authenticatedTable = AuthenticatedTable(
        AuditTagRecord.self, table: "audit_log", key: [.sequence], untaggedAllowed: true)

    deinit {
        writer.stop()
    }

    /// Appends `entry` and returns once it is committed.
    /// - Throws: ``AccessError`` `.auditUnavailable` when it is not committed within the configured bound
    ///   (or the commit failed): the caller must not return the request's result.
    public func append(_ entry: AuditEntry) async throws {
        try await enqueue(entry, change: nil)
    }

    /// Runs `change` in the transaction that commits `entry`, and returns its result once both are committed.
    /// The change runs in a savepoint: when it throws, it is undone, its error is rethrown here, and `entry`
    /// still commits (a request that changed nothing is still on the record). When the transaction fails,
    /// neither is kept. `change` runs on the writer's connection while other entries wait, so it must be a
    /// short, database-only step (it may run again when the transaction is retried after a conflict).
    /// - Throws: what `change` throws, or ``AccessError`` `.auditUnavailable` when the commit failed or the change
    ///   had not run within the configured bound (it is then cancelled; its entry still commits): either way the
    ///   change was not made. Once the change has run, the caller waits for its commit rather than answer while
    ///   its outcome is unknown.
    public func commit<T: Sendable>(_ entry: AuditEntry, change: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        let result = Locked<T?>(nil)
        try await enqueue(entry) { conn in
            result.withLock { $0 = nil }
            let value = try change(conn)
            result.withLock { $0 = value }
        }
        guard let value = result.withLock({ $0 }) else {
            throw AccessError(.auditUnavailable, "the change recorded by audit entry of \(entry.requestID) did not run")
        }
        return value
    }

    private func enqueue(_ entry: AuditEntry, change: Change?) async throws {
        let deadline = ContinuousClock.now + configuration.durableWithin
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let (accepted, startWriter, startSweeper) = state.withLock { state -> (Bool, Bool, Bool) in
                // A response entry ends its request, queued or refused: nothing more will come for it.
                if entry.kind == .response { state.open.remove(entry.requestID) }
                guard state.pending.count < configuration.maxPending else {
                    state.health = .failing("more than \(configuration.maxPending) audit entries are waiting")
                    return (false, false, false)
                }
                let id = state.nextID
                state.nextID += 1
                state.pending.append(Pending(id: id, entry: entry, change: change))
                let opened = entry.kind == .request ? entry.requestID : nil
                if let opened { state.open.insert(opened) }
                state.waiters[id] = Waiter(continuation: continuation, deadline: deadline, opened: opened, changes: change != nil)
                defer {
                    state.writing = true
                    state.sweeping = true
                }
                return (true, !state.writing, !state.sweeping)
            }
            guard accepted else { return continuation.resume(throwing: Self.unavailable) }
            if startWriter { Task(executorPreference: writer) { await self.drain() } }
            if startSweeper { Task { await self.sweep() } }
        }
    }

    /// Marks a request without a request entry (a read) as in flight until its response entry is appended, so
    /// that the writer lingers for it as for a change's (Docs/BENCHMARKS.md, "One audit entry per read").
    public func expectResponse(of requestID: String) {
        state.withLock { _ = $0.open.insert(requestID) }
    }

    /// How long the writer lingers for response entries of requests in flight (PostgreSQL's `commit_delay`
    /// idea): a commit costs an fsync, so one that waits a little for more entries serves more requests.
    static let gatherSlice: Duration = .microseconds(100)
    static let gatherSlices = 3

    static let unavailable = AccessError(
        .auditUnavailable, "the audit log could not record this request in time; the request was not completed (see /v1/sys/health)")

    /// Fails waiters past their deadline, every 50 ms while anyone waits.
    private func sweep() async {
        while true {
            let expired = state.withLock { state -> [Waiter] in
                let now = ContinuousClock.now
                var expired: [Waiter] = []
                for (id, waiter) in state.waiters where waiter.deadline <= now {
                    if waiter.changes {
                        // A change not yet run is cancelled (the writer skips it; its entry still commits), so a
                        // 503 means it was not made. One that has run waits for its commit: its outcome is that.
                        guard !state.running.contains(id) else { continue }
                        state.cancelled.insert(id)
                    }
                    state.waiters[id] = nil
                    expired.append(waiter)
                    if let opened = waiter.opened { state.open.remove(opened) }
                }
                if !expired.isEmpty { state.health = .failing("an audit entry was not committed within \(configuration.durableWithin)") }
                if state.waiters.isEmpty { state.sweeping = false }
                return expired
            }
            for waiter in expired { waiter.continuation.resume(throwing: Self.unavailable) }
            guard state.withLock({ $0.sweeping }) else { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Writes groups until the queue is empty; one runs at a time (`writing`).
    private func drain() async {
        while true {
            // Gather: while requests are in flight and entries keep arriving, wait a slice or two more.
            var seen = state.withLock { $0.pending.count }
            for _ in 0..<Self.gatherSlices {
                let (expecting, full) = state.withLock { (!$0.open.isEmpty, $0.pending.count >= configuration.batchLimit) }
                guard expecting, !full else { break }
                try? await Task.sleep(for: Self.gatherSlice)
                let now = state.withLock { $0.pending.count }
                if now == seen { break }
                seen = now
            }
            let (batch, dueByTime) = state.withLock { state -> ([Pending], Bool) in
                let batch = Array(state.pending.prefix(configuration.batchLimit))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.writing = false }
                return (batch, ContinuousClock.now - state.lastCheckpoint >= configuration.checkpointInterval)
            }
            guard !batch.isEmpty else { return }
            let signer = await signer()
            do {
                let (records, checkpoint, refused) = try await write(batch, signer: signer, witnessDueByTime: dueByTime)
                let ready = state.withLock { state -> [(Waiter, (any Error)?)] in
                    state.committedEntries += batch.count
                    state.commits += 1
                    state.health = .ok
                    state.settle(batch)
                    return batch.compactMap { item in state.waiters.removeValue(forKey: item.id).map { ($0, refused[item.id]) } }
                }
                for (waiter, error) in ready {
                    if let error { waiter.continuation.resume(throwing: error) } else { waiter.continuation.resume() }
                }
                if let checkpoint { witness(checkpoint) }
                if !configuration.copies.isEmpty {
                    copy(zip(records, batch.map(\.entry)).map { AuditTrail.Stored(record: $0, entry: $1).json })
                }
            } catch {
                logger.error("audit commit failed", metadata: ["coffer.error": "\(error)"])
                let failed = state.withLock { state -> [Waiter] in
                    state.health = .failing("the last audit commit failed: \(error)")
                    state.settle(batch)
                    let failed = batch.compactMap { state.waiters.removeValue(forKey: $0.id) }
                    for opened in failed.compactMap(\.opened) { state.open.remove(opened) }
                    return failed
                }
                for waiter in failed { waiter.continuation.resume(throwing: Self.unavailable) }
            }
        }
    }

    /// Writes a checkpoint now if entries were added since the last one (the service calls this on a timer,
    /// so a quiet trail is still checkpointed every interval). While the trail is failing it also runs, as a
    /// probe: health recovers once the sink does, without waiting for a request.
    public func checkpointIfDue() async {
        let due = state.withLock { state in
            !state.writing && (ContinuousClock.now - state.lastCheckpoint >= configuration.checkpointInterval || state.health != .ok)
        }
        guard due, let signer = await signer() else { return }
        do {
            let checkpoint = try await write([], signer: signer, witnessDueByTime: true).checkpoint
            // A commit that went through shows the sink works again, even while no request writes.
            state.withLock { $0.health = .ok }
            if let checkpoint { witness(checkpoint) }
        } catch {
            logger.error("audit checkpoint failed", metadata: ["coffer.error": "\(error)"])
        }
    }

    /// One transaction: take the head under the write lock, run the changes the entries record (each in a
    /// savepoint), chain, tag and insert the entries, move the head, and sign a checkpoint of the new head that
    /// names the checkpoint before it, so that every entry is covered by a signature once its commit returns
    /// (while unsealed). Returns the checkpoint to put in the witness when one is due there (every
    /// `checkpointEvery` entries, or after the interval), and the changes that threw, by entry id.
    private func write(_ items: [Pending], signer: SigningKeyHandle?, witnessDueByTime: Bool) async throws -> (
        records: [AuditRecord], checkpoint: AuditCheckpoint?, refused: [Int: any Error]
    ) {
        let entries = items.map(\.entry)
        let every = max(1, configuration.checkpointEvery)
        let dialect = database.dialect
        let sealer = signer == nil ? nil : self.sealer()
        let lastWitnessed = state.withLock { $0.lastWitnessed }
        return try await database.transaction { conn in
            var headQuery: SQLQuery = "SELECT \(columns: AuditHeadRecord.Column.self) FROM audit_head WHERE id = 1"
            if dialect == .postgres { headQuery.append(" FOR UPDATE") }
            guard let head = try conn.query(AuditHeadRecord.self, headQuery).first else {
                throw AccessError(.auditUnavailable, "audit_head is missing")
            }
            var sequence = head.sequence
            var previous = head.hash
            // The changes run after the head is locked, so on PostgreSQL every writer takes the head before any
            // row a change locks: one order, no deadlock between instances.
            var refused: [Int: any Error] = [:]
            for item in items {
                guard let change = item.change else { continue }
                let go = self.state.withLock { state in
                    guard !state.cancelled.contains(item.id) else { return false }
                    state.running.insert(item.id)
                    return true
                }
                guard go else { continue }
                if let error = try Self.run(change, on: conn) { refused[item.id] = error }
            }
            var rows: [[SQLValue]] = []
            var records: [AuditRecord] = []
            rows.reserveCapacity(entries.count)
            for entry in entries {
                sequence += 1
                let hash = try AuditChain.hash(sequence: sequence, body: entry.canonicalBody, previous: previous)
                let record = AuditRecord(sequence: sequence, time: entry.time, fields: entry.fields, hash: hash)
                let tag = try sealer?.tag(Self.authenticated(sequence: sequence, hash: hash))
                previous = hash
                records.append(record)
                rows.append([
                    .int(sequence), .timestamp(entry.time), .text(entry.kind.rawValue), .text(entry.requestID), .text(entry.accessor),
                    .text(entry.displayName), .text(entry.path), .text(entry.operation), .text(entry.decision),
                    .int(Int64(entry.status)), .text(entry.encodedFields), .blob(record.hash),
                    tag.map { .int($0.term) } ?? .null, tag.map { .blob($0.tag) } ?? .null
                ])
            }
            if !rows.isEmpty {
                try conn.executeBatch(
                    """
                    INSERT INTO audit_log (sequence, time, kind, request_id, accessor, display_name, path, operation, decision,
                    status, fields, hash,
                                           auth_term, auth_tag)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                    """, rows: rows)
                try conn.execute("UPDATE audit_head SET sequence = \(sequence), hash = \(previous) WHERE id = 1")
            }
            guard let signer else { return (records, nil, refused) }
            let newest = try conn.query(
                AuditCheckpoint.self,
                "SELECT \(columns: AuditCheckpoint.Column.self) FROM audit_checkpoints ORDER BY sequence DESC LIMIT 1"
            ).first
            let covered = newest?.sequence ?? 0
            // Due in the witness when the batch crossed a multiple of `every`, or by time.
            let witnessDue = witnessDueByTime || sequence / every > max(covered, lastWitnessed) / every
            guard sequence > covered else {
                // Nothing new to sign: the newest checkpoint may still be owed to this instance's witness.
                return (records, witnessDue ? newest.flatMap { $0.sequence > lastWitnessed ? $0 : nil } : nil, refused)
            }
            let checkpoint = AuditChain.checkpoint(
                sequence: sequence, head: previous, time: Date().roundedToStoredPrecision, previous: covered,
                signer: signer.key)
            try conn.execute(
                """
                INSERT INTO audit_checkpoints (sequence, head, time, signature, previous)
                VALUES (\(checkpoint.sequence), \(checkpoint.head), \(checkpoint.time), \(checkpoint.signature), \(checkpoint.previous))
                """)
            return (records, witnessDue ? checkpoint : nil, refused)
        }
    }

    /// Runs one change in a savepoint; returns its error when it threw and was undone. A conflict or a lost
    /// connection is the transaction's, not the change's: rethrown, so the whole group retries or fails.
    private static func run(_ change: Change, on conn: any SQLConnection) throws -> (any Error)? {
        try conn.executeScript(unsafeSQL: "SAVEPOINT coffer_change")
        do {
            try change(conn)
            try conn.executeScript(unsafeSQL: "RELEASE SAVEPOINT coffer_change")
            return nil
        } catch let error as StoreError where error.code.isTransient || Self.connectionCodes.contains(error.code) {
            throw error
        } catch {
            try conn.executeScript(unsafeSQL: "ROLLBACK TO SAVEPOINT coffer_change")
            try conn.executeScript(unsafeSQL: "RELEASE SAVEPOINT coffer_change")
            return error
        }
    }

    private static let connectionCodes: [StoreErrorCode] = [.connectionLost, .connectionFailed, .closed]

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
        let fresh = state.withLock { state -> Bool in
            guard checkpoint.sequence > state.lastWitnessed else { return false }
            state.lastWitnessed = checkpoint.sequence
            state.lastCheckpoint = .now
            return true
        }
        guard fresh else { return }
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
                state.withLock { $0.health = .failing("cannot write the audit witness file \(path)") }
            }
        }
    }
}
