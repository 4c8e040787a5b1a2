import CofferAccess
import CofferFoundation
public import CofferStore
import Foundation

/// The steps of a staged rotation, in order.
public enum RotationStep: String, Sendable, CaseIterable, Codable {
    case create, set, test, finish
}

/// A run's record (`rotation_runs`): the step it reached, written before and after each step acts.
struct RunRecord: Sendable, Equatable {
    enum State: String, Sendable { case running, succeeded, failed }

    let id: String
    let secretID: String
    let rotator: String
    var state: State
    var step: RotationStep
    var stepDone: Bool
    let oldVersion: Int64
    var newVersion: Int64?
    var error: String?
    let startedAt: Date
}

/// Run records and the per-secret lock, in the database so that every instance sees them.
struct RotationRuns: Sendable {
    let database: any Database

    /// The run of `secretID` that has not finished (crashed, or still going elsewhere), if any.
    func unfinished(_ secretID: String) async throws -> RunRecord? {
        try await database.read { conn in
            try conn.query(
                RunRecord.self,
                """
                SELECT \(columns: RunRecord.Column.self) FROM rotation_runs
                WHERE secret_id = \(secretID) AND state = \(RunRecord.State.running) ORDER BY started_at DESC LIMIT 1
                """
            ).first
        }
    }

    /// Whether any credential is due at `now` or has a run to resume, and is not backing off: the scheduler's
    /// check before it opens a run. One indexed statement that reads no secret and no tag, so it decides only
    /// whether to look; the run itself reads every row through its tag check and decides again under each lock.
    func hasWork(at now: Date) async throws -> Bool {
        let now = now.roundedToStoredPrecision
        return try await database.read { conn in
            try conn.queryFirst(
                """
                SELECT id FROM api_credentials c
                WHERE rotation_kind IS NOT NULL AND (rotation_retry_at IS NULL OR rotation_retry_at <= \(now))
                AND (next_rotation_at <= \(now) OR EXISTS (
                    SELECT 1 FROM rotation_runs r WHERE r.secret_id = c.id AND r.state = \(RunRecord.State.running)))
                LIMIT 1
                """) != nil
        }
    }

    /// Deletes finished runs (succeeded or failed) that finished before `before`; unfinished runs stay, whatever
    /// their age, since the next run resumes them. Returns how many.
    func prune(before: Date) async throws -> Int {
        try await database.deleteInBatches { limit in
            """
            DELETE FROM rotation_runs WHERE id IN (
                SELECT id FROM rotation_runs WHERE state <> \(RunRecord.State.running) AND finished_at < \(before)
                ORDER BY finished_at LIMIT \(limit))
            """
        }
    }

    /// Secrets with an unfinished run: due whatever their schedule says, so the run is resumed.
    func unfinishedSecrets() async throws -> Set<String> {
        try await database.read { conn in
            Set(
                try conn.query("SELECT DISTINCT secret_id FROM rotation_runs WHERE state = \(RunRecord.State.running)").map {
                    try $0.decode(String.self, at: 0)
                })
        }
    }

    func find(_ id: String) async throws -> RunRecord? {
        try await database.read { conn in
            try conn.query(RunRecord.self, "SELECT \(columns: RunRecord.Column.self) FROM rotation_runs WHERE id = \(id)").first
        }
    }

    /// The newest runs, for status.
    func recent(limit: Int) async throws -> [RunRecord] {
        try await database.read { conn in
            try conn.query(
                RunRecord.self, "SELECT \(columns: RunRecord.Column.self) FROM rotation_runs ORDER BY started_at DESC LIMIT \(Int64(limit))"
            )
        }
    }

    func insert(_ run: RunRecord, by accessor: String) async throws {
        let now = WallClock.now.roundedToStoredPrecision
        try await database.transaction { conn in
            _ = try conn.execute(
                """
                INSERT INTO rotation_runs (id, secret_id, rotator, state, step, step_done, old_version, new_version, error, started_by,
                                           started_at, updated_at, finished_at)
                VALUES (\(run.id), \(run.secretID), \(run.rotator), \(run.state), \(run.step), \(run.stepDone),
                        \(run.oldVersion), \(run.newVersion), \(run.error), \(accessor),
                        \(run.startedAt.roundedToStoredPrecision), \(now), NULL)
                """)
        }
    }

    /// Records the run's progress, and renews the lock `holder` holds in the same transaction.
    func update(_ run: RunRecord, holder: String, lockTTL: Int64) async throws {
        let now = WallClock.now.roundedToStoredPrecision
        let finished: Date? = run.state == .running ? nil : now
        try await database.transaction { conn in
            try conn.execute(
                """
                UPDATE rotation_runs SET state = \(run.state), step = \(run.step), step_done = \(run.stepDone),
                    new_version = \(run.newVersion), error = \(run.error), updated_at = \(now), finished_at = \(finished)
                WHERE id = \(run.id)
                """)
            try conn.execute(
                """
                UPDATE rotation_locks SET expires_at = \(now.addingTimeInterval(Double(lockTTL))) WHERE secret_id =
                \(run.secretID) AND holder = \(holder)
                """)
        }
    }

    /// Takes the secret's lock for `holder` (one attempt at a run) when it is free or expired (its holder
    /// died). A live holder is never joined, not even by an attempt at the same run.
    /// - Returns: `nil` when taken, else when the holder's lock expires.
    func acquire(_ secretID: String, holder: String, ttl: Int64) async throws -> Date? {
        let now = WallClock.now.roundedToStoredPrecision
        let expires = now.addingTimeInterval(Double(ttl))
        return try await database.transaction { conn -> Date? in
            let changed = try conn.execute(
                """
                INSERT INTO rotation_locks (secret_id, holder, expires_at) VALUES (\(secretID), \(holder), \(expires))
                ON CONFLICT (secret_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE rotation_locks.expires_at <= \(now)
                """)
            if changed > 0 { return nil }
            return try conn.queryScalar(Date.self, "SELECT expires_at FROM rotation_locks WHERE secret_id = \(secretID)") ?? now
        }
    }

    func release(_ secretID: String, holder: String) async throws {
        try await database.transaction { conn in
            _ = try conn.execute("DELETE FROM rotation_locks WHERE secret_id = \(secretID) AND holder = \(holder)")
        }
    }

    /// Who holds the secret's lock and until when, if anyone.
    func holder(_ secretID: String) async throws -> (holder: String, expires: Date)? {
        try await database.read { conn in
            try conn.query(
                RotationLock.self, "SELECT \(columns: RotationLock.Column.self) FROM rotation_locks WHERE secret_id = \(secretID)"
            )
            .first.map { ($0.holder, $0.expiresAt) }
        }
    }
}

extension RunRecord: SQLRowDecodable {
    /// The columns of `rotation_runs` a run is made of (not who started it or when it last changed).
    enum Column: String, SQLColumn {
        case id, secretID = "secret_id", rotator, state, step, stepDone = "step_done", oldVersion = "old_version"
        case newVersion = "new_version", error, startedAt = "started_at"
    }

    init(row: SQLRow) throws {
        id = try row.decode(Column.id)
        secretID = try row.decode(Column.secretID)
        rotator = try row.decode(Column.rotator)
        state = try row.decode(Column.state)
        step = try row.decode(Column.step)
        stepDone = try row.decode(Column.stepDone)
        oldVersion = try row.decode(Column.oldVersion)
        newVersion = try row.decode(Column.newVersion)
        error = try row.decode(Column.error)
        startedAt = try row.decode(Column.startedAt)
    }
}

extension RunRecord.State: SQLTextEnum {}
extension RotationStep: SQLTextEnum {}

/// A `rotation_locks` row: which run holds a secret's rotation, and until when.
struct RotationLock: SQLRecord {
    let holder: String
    let expiresAt: Date

    enum Column: String, SQLColumn, CodingKey { case holder, expiresAt = "expires_at" }
    typealias CodingKeys = Column
}
