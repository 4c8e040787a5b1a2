import CofferAccess
import CofferFoundation
import CofferStore
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
            try conn.queryFirst("SELECT * FROM rotation_runs WHERE secret_id = \(secretID) AND state = 'running' ORDER BY started_at DESC")
                .map(Self.record)
        }
    }

    /// Secrets with an unfinished run: due whatever their schedule says, so the run is resumed.
    func unfinishedSecrets() async throws -> Set<String> {
        try await database.read { conn in
            Set(
                try conn.query("SELECT DISTINCT secret_id FROM rotation_runs WHERE state = 'running'").map {
                    try $0.decode(String.self, at: 0)
                })
        }
    }

    func find(_ id: String) async throws -> RunRecord? {
        try await database.read { conn in try conn.queryFirst("SELECT * FROM rotation_runs WHERE id = \(id)").map(Self.record) }
    }

    /// The newest runs, for status.
    func recent(limit: Int) async throws -> [RunRecord] {
        try await database.read { conn in
            try conn.query("SELECT * FROM rotation_runs ORDER BY started_at DESC LIMIT \(Int64(limit))").map(Self.record)
        }
    }

    func insert(_ run: RunRecord, by accessor: String) async throws {
        let now = Date().roundedToStoredPrecision
        try await database.transaction { conn in
            _ = try conn.execute(
                """
                INSERT INTO rotation_runs (id, secret_id, rotator, state, step, step_done, old_version, new_version, error, started_by,
                                           started_at, updated_at, finished_at)
                VALUES (\(run.id), \(run.secretID), \(run.rotator), \(run.state.rawValue), \(run.step.rawValue), \(run.stepDone),
                        \(run.oldVersion), \(run.newVersion), \(run.error), \(accessor), \(run.startedAt.roundedToStoredPrecision), \(now), NULL)
                """)
        }
    }

    /// Records the run's progress, and renews the lock `holder` holds in the same transaction.
    func update(_ run: RunRecord, holder: String, lockTTL: Int64) async throws {
        let now = Date().roundedToStoredPrecision
        let finished: Date? = run.state == .running ? nil : now
        try await database.transaction { conn in
            try conn.execute(
                """
                UPDATE rotation_runs SET state = \(run.state.rawValue), step = \(run.step.rawValue), step_done = \(run.stepDone),
                    new_version = \(run.newVersion), error = \(run.error), updated_at = \(now), finished_at = \(finished)
                WHERE id = \(run.id)
                """)
            try conn.execute(
                """
                UPDATE rotation_locks SET expires_at = \(now.addingTimeInterval(Double(lockTTL))) WHERE secret_id = \(run.secretID) AND holder = \(holder)
                """)
        }
    }

    /// Takes the secret's lock for `holder` (one attempt at a run) when it is free or expired (its holder
    /// died). A live holder is never joined, not even by an attempt at the same run.
    /// - Returns: `nil` when taken, else when the holder's lock expires.
    func acquire(_ secretID: String, holder: String, ttl: Int64) async throws -> Date? {
        let now = Date().roundedToStoredPrecision
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
            try conn.queryFirst("SELECT holder, expires_at FROM rotation_locks WHERE secret_id = \(secretID)").map { row in
                (try row.decode(at: 0), try row.decode(at: 1))
            }
        }
    }

    static func record(_ row: SQLRow) throws -> RunRecord {
        let stateText: String = try row.decode(column: "state")
        let stepText: String = try row.decode(column: "step")
        guard let state = RunRecord.State(rawValue: stateText), let step = RotationStep(rawValue: stepText) else {
            throw AccessError(.invalidRequest, "rotation_runs holds an unknown state or step (\(stateText), \(stepText))")
        }
        return RunRecord(
            id: try row.decode(column: "id"), secretID: try row.decode(column: "secret_id"), rotator: try row.decode(column: "rotator"),
            state: state, step: step, stepDone: try row.decode(column: "step_done"), oldVersion: try row.decode(column: "old_version"),
            newVersion: try row.decode(column: "new_version"), error: try row.decode(column: "error"),
            startedAt: try row.decode(column: "started_at"))
    }
}
