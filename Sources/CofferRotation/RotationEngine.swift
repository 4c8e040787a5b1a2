public import CofferAccess
public import CofferEngines
import CofferCrypto
import CofferFoundation
public import Foundation

/// Runs staged rotations (create, set, test, finish) as AWS Secrets Manager does, each step recorded in
/// `rotation_runs` before and after it acts and audited, under a per-credential lock that a dead run's
/// successor takes over once it expires. A run that is killed at any instant is resumed by the next one;
/// one that fails is rolled back (the target is given the current value again, the pending version is
/// dropped) and the credential backs off before it is tried again.
public final class RotationEngine: Sendable {
    public struct Settings: Sendable {
        /// Seconds a lock lasts without renewal (each recorded step renews it).
        public var lockTTL: Int64
        /// Seconds `previous` stays readable after a rotation.
        public var previousGrace: Int64
        /// Backoff after the first failure, doubled after each further one up to `backoffMax` (seconds).
        public var backoffBase: Int64
        public var backoffMax: Int64
        /// Credentials rotated at once by one run.
        public var parallelism: Int
        /// What rotators may reach (webhook hosts, the command folder).
        public var limits: RotatorLimits

        public init(
            lockTTL: Int64 = 60, previousGrace: Int64 = 86_400, backoffBase: Int64 = 60, backoffMax: Int64 = 86_400, parallelism: Int = 8,
            limits: RotatorLimits = RotatorLimits()
        ) {
            self.limits = limits
            self.parallelism = max(1, parallelism)
            self.lockTTL = lockTTL
            self.previousGrace = previousGrace
            self.backoffBase = backoffBase
            self.backoffMax = backoffMax
        }
    }

    let store: CredentialStore
    let gate: Gate
    let databases: DatabaseEngine
    let runs: RotationRuns
    public let settings: Settings

    public init(store: CredentialStore, gate: Gate, settings: Settings = .init()) {
        self.store = store
        self.gate = gate
        self.databases = DatabaseEngine(database: store.database, keys: store.keys)
        self.runs = RotationRuns(database: store.database)
        self.settings = settings
    }

    /// The policy path that allows rotating `path` (Coffer's `rotate` capability).
    public static func policyPath(_ path: SecretPath) -> String { "coffer/rotation/rotate/" + path.id }

    /// Rotates `only` now (whether due or not), or every credential that is due (or has a run to resume).
    /// - Parameters:
    ///   - dryRun: report what would be rotated, change nothing.
    ///   - idempotencyKey: names the runs (`KEY/mount/path`): the same key again returns a finished run's
    ///     outcome instead of rotating twice, and resumes an unfinished one.
    /// - Throws: ``AccessError`` `.notFound` for an unknown `only`, `.invalidRequest` when it has no rotator.
    ///   - authorised: the caller's route already authorised rotating `only` (Vault's `database/rotate-role`),
    ///     so the `coffer/rotation/rotate/…` policy path is not asked for.
    public func run(
        _ grant: Grant, only: SecretPath? = nil, dryRun: Bool = false, idempotencyKey: String? = nil,
        authorised: Bool = false
    ) async throws -> [RotationOutcome] {
        if let idempotencyKey {
            guard !idempotencyKey.isEmpty, idempotencyKey.utf8.count <= 128,
                !idempotencyKey.contains(where: { $0.isWhitespace || $0 == "/" })
            else {
                throw AccessError(.invalidRequest, "idempotency_key must be 1 to 128 characters without spaces or '/'")
            }
        }
        let now = WallClock.now
        var targets: [SecretMetadata]
        if let only {
            let metadata = try await store.rotationMetadata(grant, only)
            guard metadata.rotation.kind != nil else {
                throw AccessError(
                    .invalidRequest,
                    "\(only) has no rotation_kind: set one first (coffer kv metadata put -rotation-kind=random \(only.path))")
            }
            targets = [metadata]
        } else {
            let resumable = try await runs.unfinishedSecrets()
            // An unfinished run is resumed whatever the schedule says, but not while its credential backs off.
            targets = try await store.rotationSchedules(grant).filter { secret in
                Self.isDue(secret, at: now) || (resumable.contains(secret.path.id) && secret.rotation.retryAt.map { $0 <= now } ?? true)
            }
        }
        var outcomes: [RotationOutcome] = []
        var rotating: [SecretMetadata] = []
        for secret in targets {
            let kind = secret.rotation.kind ?? ""
            guard (authorised && only != nil) || grant.allows(.rotate, on: Self.policyPath(secret.path)) else {
                outcomes.append(
                    RotationOutcome(
                        path: secret.path.id, rotator: kind, oldVersion: secret.currentVersion, newVersion: nil, step: nil,
                        result: .denied, duration: .zero, runID: nil, error: "permission denied"))
                continue
            }
            if dryRun {
                outcomes.append(
                    RotationOutcome(
                        path: secret.path.id, rotator: kind, oldVersion: secret.currentVersion, newVersion: nil, step: nil,
                        result: .due, duration: .zero, runID: nil, error: nil))
                continue
            }
            rotating.append(secret)
        }
        // Credentials are independent (each has its own lock), so several rotate at once: their steps' audit
        // entries then share group commits. Bounded, so a large due set never floods the store or a target.
        try await withThrowingTaskGroup(of: RotationOutcome?.self) { group in
            var next = rotating.makeIterator()
            for _ in 0..<settings.parallelism {
                guard let secret = next.next() else { break }
                group.addTask { try await self.rotate(grant, secret, idempotencyKey: idempotencyKey, dueOnly: only == nil) }
            }
            while let finished = try await group.next() {
                if let finished { outcomes.append(finished) }
                if let secret = next.next() {
                    group.addTask { try await self.rotate(grant, secret, idempotencyKey: idempotencyKey, dueOnly: only == nil) }
                }
            }
        }
        return outcomes.sorted { $0.path < $1.path }
    }

    /// Whether a run now would find anything to rotate or resume (without a grant: it reads no secret). The
    /// rotation scheduler asks this before each run, so an idle vault's audit trail is not a run every tick.
    public func hasWork() async throws -> Bool {
        try await runs.hasWork(at: WallClock.now)
    }

    /// Deletes the records of runs that finished before `before` (unfinished ones stay). An idempotency key
    /// whose run has been pruned names a new run when it is used again. Returns how many.
    public func pruneRuns(_ grant: Grant, before: Date) async throws -> Int {
        try await runs.prune(before: before)
    }

    /// Every credential with a rotator, with its schedule, failures, labels and any unfinished run.
    public func status(_ grant: Grant) async throws -> [RotationStatus] {
        let now = WallClock.now
        var result: [RotationStatus] = []
        for secret in try await store.rotationSchedules(grant) {
            let open = try await runs.unfinished(secret.path.id)
            let lock = try await runs.holder(secret.path.id)
            result.append(
                RotationStatus(
                    metadata: secret, unfinished: open.map { ($0.id, $0.step, $0.stepDone) },
                    lockedUntil: lock.flatMap { $0.expires > now ? $0.expires : nil }, isDue: Self.isDue(secret, at: now)))
        }
        return result
    }

    static func isDue(_ secret: SecretMetadata, at now: Date) -> Bool {
        let rotation = secret.rotation
        guard rotation.isScheduled, let next = rotation.nextDueAt, next <= now else { return false }
        return rotation.retryAt.map { $0 <= now } ?? true
    }

    // MARK: one credential

    /// Rotates (or resumes) one credential under its lock; `nil` when, seen under the lock, a due-only
    /// run finds it no longer due (another instance just rotated it).
    private func rotate(_ grant: Grant, _ listed: SecretMetadata, idempotencyKey: String?, dueOnly: Bool) async throws -> RotationOutcome? {
        let started = ContinuousClock.now
        let path = listed.path
        let id = path.id
        if let idempotencyKey, let existing = try await runs.find(idempotencyKey + "/" + id), existing.state != .running {
            return outcome(existing, started: started)
        }
        // This attempt's own holder id: a second attempt at the same (unfinished) run waits for this one.
        let holder = "att_" + Hex.encode(Random.bytes(12))
        if let until = try await runs.acquire(id, holder: holder, ttl: settings.lockTTL) {
            return RotationOutcome(
                path: id, rotator: listed.rotation.kind ?? "", oldVersion: listed.currentVersion, newVersion: nil, step: nil,
                result: .locked, duration: ContinuousClock.now - started, runID: nil,
                error: "another run holds the lock until \(until) (a run that died is taken over then)")
        }
        // Under the lock, read again: what was listed may have been rotated meanwhile.
        let secret: SecretMetadata
        var run: RunRecord
        var isNew = false
        do {
            secret = try await store.rotationMetadata(grant, path)
            if let idempotencyKey, let existing = try await runs.find(idempotencyKey + "/" + id) {
                run = existing
            } else if let open = try await runs.unfinished(id) {
                run = open
            } else {
                if dueOnly && !Self.isDue(secret, at: WallClock.now) {
                    try await runs.release(id, holder: holder)
                    return nil
                }
                run = RunRecord(
                    id: idempotencyKey.map { $0 + "/" + id } ?? "rot_" + Hex.encode(Random.bytes(12)), secretID: id,
                    rotator: secret.rotation.kind ?? "", state: .running, step: .create, stepDone: false,
                    oldVersion: secret.currentVersion, newVersion: nil, error: nil, startedAt: WallClock.now)
                isNew = true
            }
            if run.state != .running {
                try await runs.release(id, holder: holder)
                return outcome(run, started: started)
            }
            if isNew { try await runs.insert(run, by: grant.accessor) }
        } catch {
            try? await runs.release(id, holder: holder)
            throw error
        }
        var rotator: (any Rotator)?
        do {
            let made = try Rotators.make(kind: run.rotator, settings: secret.rotation.settings, limits: settings.limits)
            rotator = made
            try await execute(&run, rotator: made, grant: grant, path: path, holder: holder)
            try await runs.release(id, holder: holder)
            return outcome(run, started: started)
        } catch {
            let message = Self.describe(error)
            run.error = message
            await rollBack(&run, rotator: rotator, grant: grant, path: path)
            try? await runs.update(run, holder: holder, lockTTL: settings.lockTTL)
            // Failed, or left unfinished because even the roll-back failed: either way the credential backs off.
            let backoff = min(settings.backoffMax, settings.backoffBase << min(secret.rotation.failures, 20))
            try? await store.recordRotationFailure(
                grant, path, error: run.error ?? message, retryAt: WallClock.now.addingTimeInterval(Double(backoff)))
            try? await gate.recordEvent(
                grant, path: Self.policyPath(path), operation: "rotate.failed",
                fields: [("run_id", run.id), ("step", run.step.rawValue), ("error", message)])
            try? await runs.release(id, holder: holder)
            return outcome(run, started: started)
        }
    }

    /// Runs the steps from where `run` stands: each is recorded as started, acts, is recorded as done and audited.
    private func execute(_ run: inout RunRecord, rotator: any Rotator, grant: Grant, path: SecretPath, holder: String) async throws {
        let steps = RotationStep.allCases
        guard let at = steps.firstIndex(of: run.step) else { return }
        for step in steps[(run.stepDone ? at + 1 : at)...] {
            run.step = step
            run.stepDone = false
            try await runs.update(run, holder: holder, lockTTL: settings.lockTTL)
            try Failpoints.hit("rotation.\(step.rawValue).before")
            switch step {
            case .create:
                run.newVersion = try await create(run, rotator: rotator, grant: grant, path: path)
            case .set:
                let (pending, current) = try await values(run, grant: grant, path: path)
                try await rotator.set(pending: pending, current: current, context: context(grant))
            case .test:
                try await rotator.test(pending: try await pendingData(run, grant: grant, path: path), context: context(grant))
            case .finish:
                guard let pending = run.newVersion else {
                    throw RotationError.stepFailed(step: .finish, reason: "no pending version was recorded")
                }
                try await store.promotePending(grant, path, pending: pending, from: run.oldVersion, grace: settings.previousGrace)
            }
            try Failpoints.hit("rotation.\(step.rawValue).after")
            run.stepDone = true
            if step == .finish { run.state = .succeeded }
            try await runs.update(run, holder: holder, lockTTL: settings.lockTTL)
            try await gate.recordEvent(
                grant, path: Self.policyPath(path), operation: "rotate.\(step.rawValue)",
                fields: [
                    ("run_id", run.id), ("rotator", run.rotator), ("old_version", String(run.oldVersion)),
                    ("new_version", run.newVersion.map(String.init) ?? "")
                ])
        }
    }

    /// The create step, idempotent: a pending version this run wrote before it was killed is adopted (the
    /// lock makes it this run's), otherwise a new one is written from the current data.
    private func create(_ run: RunRecord, rotator: any Rotator, grant: Grant, path: SecretPath) async throws -> Int64 {
        let metadata = try await store.rotationMetadata(grant, path)
        if let pending = metadata.labels.pending, pending > run.oldVersion, metadata.currentVersion == run.oldVersion {
            return pending
        }
        let current = try await data(grant, path, version: run.oldVersion)
        var next = try rotator.create(from: current).encoded()
        defer { next.withUnsafeMutableBytes { Wipe.raw($0) } }
        return try await store.writePending(grant, path, data: SecureHandle(SecureBytes(copying: next)), expectedCurrent: run.oldVersion)
    }

    /// Another credential for a rotator (its admin connection), read only if the run's token may read it.
    private func context(_ grant: Grant) -> RotationContext {
        let store = store, databases = databases
        return RotationContext(
            secret: { name in
                guard let path = try SecretPath(id: name) else {
                    throw RotationError.invalidSettings("admin_secret must be mount/path, such as secret/db/admin, not \"\(name)\"")
                }
                guard grant.allows(.read, on: path.requestPath("data")) else {
                    throw RotationError.stepFailed(
                        step: .set, reason: "this token may not read \(name) (read on \(path.requestPath("data")))")
                }
                guard case .found(let secret) = try await store.read(grant, path) else {
                    throw RotationError.stepFailed(step: .set, reason: "\(name) has no current value")
                }
                guard let value = secret.data.bytes.withUnsafeBytes({ JSONValue.parse($0) }) else {
                    throw RotationError.stepFailed(step: .set, reason: "\(name) is not a JSON object")
                }
                return value
            },
            connection: { name in
                guard let admin = try await databases.adminConnection(name) else {
                    throw RotationError.stepFailed(step: .set, reason: "no database connection \(name) (database/config/\(name))")
                }
                return admin
            })
    }

    /// The pending and current values.
    private func values(_ run: RunRecord, grant: Grant, path: SecretPath) async throws -> (pending: JSONValue, current: JSONValue) {
        (try await pendingData(run, grant: grant, path: path), try await data(grant, path, version: run.oldVersion))
    }

    /// The pending value alone (the test step needs nothing else).
    private func pendingData(_ run: RunRecord, grant: Grant, path: SecretPath) async throws -> JSONValue {
        guard let pending = run.newVersion else {
            throw RotationError.stepFailed(step: run.step, reason: "no pending version was recorded")
        }
        return try await data(grant, path, version: pending)
    }

    /// A version's data as JSON (`{}` for version 0: a credential created by its first rotation).
    private func data(_ grant: Grant, _ path: SecretPath, version: Int64) async throws -> JSONValue {
        guard version > 0 else { return .object([:]) }
        guard case .found(let secret) = try await store.read(grant, path, select: .number(version)) else {
            throw RotationError.stepFailed(
                step: .create, reason: "version \(version) of \(path) is deleted or destroyed; write a value before rotating")
        }
        guard let value = secret.data.bytes.withUnsafeBytes({ JSONValue.parse($0) }) else {
            throw RotationError.stepFailed(step: .create, reason: "version \(version) of \(path) is not a JSON object")
        }
        return value
    }

    /// After a failure: give the target the current value again (if `set` may have acted), drop the
    /// pending version, mark the run failed. If that fails too the run stays unfinished, and the next run
    /// resumes it, so the target and the store never stay in disagreement.
    private func rollBack(_ run: inout RunRecord, rotator: (any Rotator)?, grant: Grant, path: SecretPath) async {
        guard let pending = run.newVersion, !(run.step == .finish && run.stepDone) else {
            run.state = .failed
            return
        }
        do {
            if let rotator, run.step == .set || run.step == .test || run.step == .finish {
                let (pendingData, currentData) = try await values(run, grant: grant, path: path)
                try await rotator.set(pending: currentData, current: pendingData, context: context(grant))
            }
            try await store.discardPending(grant, path, pending: pending)
            run.state = .failed
        } catch {
            run.error = (run.error ?? "") + "; rolling back failed too (\(Self.describe(error))): the next run resumes this one"
        }
    }

    private func outcome(_ run: RunRecord, started: ContinuousClock.Instant) -> RotationOutcome {
        RotationOutcome(
            path: run.secretID, rotator: run.rotator, oldVersion: run.oldVersion, newVersion: run.newVersion, step: run.step,
            result: run.state == .succeeded ? .rotated : .failed, duration: ContinuousClock.now - started, runID: run.id,
            error: run.error)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? AccessError { return error.message.isEmpty ? "\(error.code)" : error.message }
        return "\(error)"
    }
}
