public import CofferAccess
public import CofferFoundation
public import CofferStore
public import Foundation

/// System health (`system_health`): checks defined as code, results stored with the state each check
/// settles in (thresholds of failures and passes in a row, maintenance windows), flap detection, an
/// aggregate per component and overall, and availability over 24 h, 7 d and 30 d.
public final class HealthMonitor: Sendable {
    let database: any Database
    /// Where `command` checks' programs must live (the operator's choice); nil refuses command checks.
    let commandDirectory: String?

    public init(database: any Database, commandDirectory: String? = nil) {
        self.database = database
        self.commandDirectory = commandDirectory.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
    }

    /// A token that may write health checks must not be able to run any program as the service: a command
    /// check's program must resolve to a file in the operator's `health_command_dir`.
    func checkCommand(_ check: HealthCheckDefinition) throws {
        guard check.type == .command, let program = check.command?.first else { return }
        guard let directory = commandDirectory else {
            throw SuiteError(
                .invalid,
                """
                health check \(check.name): command checks are off; the operator enables them with health_command_dir \
                (COFFER_HEALTH_COMMAND_DIR), a folder of programs they may run
                """
            )
        }
        let resolved = URL(fileURLWithPath: program).resolvingSymlinksInPath()
        guard resolved.deletingLastPathComponent().path == directory, FileManager.default.isExecutableFile(atPath: resolved.path) else {
            throw SuiteError(
                .invalid, "health check \(check.name): \(program) is not an executable program in health_command_dir (\(directory))")
        }
    }

    /// A postgres check logs in with a secret's credentials, read by the `health-runner` service identity at
    /// every run: the writer must be able to read that secret (so a check cannot borrow credentials its writer
    /// could not see), and it must be one the runner's policy lets it read (secret/health-checks/).
    func checkCredentials(_ check: HealthCheckDefinition, _ grant: Grant) throws {
        guard check.type == .postgres, let secret = check.credentialsPath else { return }
        let data = secret.requestPath("data")
        guard grant.allows(.read, on: data) else {
            throw AccessError(.permissionDenied, "health check \(check.name) logs in with \(secret.id): this token needs read on \(data)")
        }
        guard ServiceIdentity.healthRunner.allows(.read, on: data) else {
            throw SuiteError(
                .invalid,
                """
                health check \(check.name): credentials must live under secret/health-checks/ (the only secrets the health-runner \
                service may read), not \(secret.id)
                """
            )
        }
    }

    // MARK: definitions

    /// Makes the stored checks equal to `checks`: adds, changes, and (with `prune`) removes the rest — all but
    /// the built-in `coffer` check.
    /// - Returns: the names added, changed and removed.
    public func apply(_ grant: Grant, _ checks: [HealthCheckDefinition], prune: Bool) async throws -> (
        added: [String], changed: [String], removed: [String]
    ) {
        for check in checks {
            try check.validate()
            try checkCommand(check)
            try checkCredentials(check, grant)
        }
        let texts = try checks.map { ($0, try JSONText.encode($0)) }
        return try await database.transaction { conn in
            let now = WallClock.now.roundedToStoredPrecision
            let existing = try DefinitionRecord.all(in: "health_checks", on: conn)
            var added: [String] = [], changed: [String] = [], removed: [String] = []
            for (check, text) in texts {
                guard existing[check.name] != text else { continue }
                if existing[check.name] == nil { added.append(check.name) } else { changed.append(check.name) }
                try conn.execute(
                    """
                    INSERT INTO health_checks (name, component, definition, updated_at) VALUES (\(check.name),
                    \(check.component), \(text), \(now))
                    ON CONFLICT (name) DO UPDATE SET component = excluded.component, definition = excluded.definition, updated_at
                    = excluded.updated_at
                    """)
            }
            if prune {
                // The built-in check of the service itself stays unless the file names it (to change it).
                for name in existing.keys.sorted() where name != Self.selfCheck.name && !texts.contains(where: { $0.0.name == name }) {
                    try conn.execute("DELETE FROM health_checks WHERE name = \(name)")
                    try conn.execute("DELETE FROM health_state WHERE check_name = \(name)")
                    removed.append(name)
                }
            }
            return (added.sorted(), changed.sorted(), removed)
        }
    }

    public func checks(_ grant: Grant) async throws -> [HealthCheckDefinition] {
        try await database.read { conn in try Self.definitions(conn) }
    }

    static func definitions(_ conn: any SQLConnection) throws -> [HealthCheckDefinition] {
        try conn.query("SELECT definition FROM health_checks ORDER BY name").map {
            try JSONText.decode(HealthCheckDefinition.self, try $0.decode(String.self, at: 0))
        }
    }

    /// Removes a check (its results stay, for availability history).
    public func deleteCheck(_ grant: Grant, name: String) async throws {
        let removed = try await database.transaction { conn in
            let count = try conn.execute("DELETE FROM health_checks WHERE name = \(name)")
            try conn.execute("DELETE FROM health_state WHERE check_name = \(name)")
            return count
        }
        guard removed > 0 else { throw SuiteError(.notFound, "no health check named \(name)") }
    }

    /// The built-in check of the service itself, added when missing (an operator's checks file may remove it).
    public static let selfCheck: HealthCheckDefinition = {
        var check = HealthCheckDefinition(name: "coffer", component: "coffer", type: .coffer)
        check.interval = 10
        check.timeout = 5
        check.failAfter = 1
        check.passAfter = 1
        return check
    }()

    /// Adds ``selfCheck`` unless a check of that name exists (start-up).
    public func ensureSelfCheck(_ grant: Grant) async throws {
        let text = try JSONText.encode(Self.selfCheck)
        _ = try await database.transaction { conn in
            try conn.execute(
                """
                INSERT INTO health_checks (name, component, definition, updated_at) VALUES ('coffer', 'coffer', \(text),
                \(WallClock.now.roundedToStoredPrecision))
                ON CONFLICT (name) DO NOTHING
                """)
        }
    }

    /// The checks whose last run (by any instance) is an interval old or more.
    public func due(_ grant: Grant, now: Date = WallClock.now) async throws -> [HealthCheckDefinition] {
        try await database.read { conn in
            var last: [String: Date] = [:]
            for state in try conn.query(HealthStateRecord.self, "SELECT \(columns: HealthStateRecord.Column.self) FROM health_state") {
                last[state.checkName] = state.checkedAt
            }
            return try Self.definitions(conn).filter { check in
                last[check.name].map { now.timeIntervalSince($0) >= Double(check.intervalSeconds) - 0.5 } ?? true
            }
        }
    }

    // MARK: results

    /// Stores results and moves each check's state (thresholds, maintenance, flapping) in one transaction.
    public func record(_ grant: Grant, _ results: [(HealthCheckDefinition, ProbeResult)], instance: String, at time: Date = WallClock.now)
        async throws
    {
        let now = time.roundedToStoredPrecision
        try await database.transaction { conn in
            let windows = try Self.activeMaintenance(conn, at: now)
            for (check, probe) in results {
                let state = try conn.query(
                    HealthStateRecord.self,
                    "SELECT \(columns: HealthStateRecord.Column.self) FROM health_state WHERE check_name = \(check.name)"
                ).first
                var status = HealthStatus(rawValue: state?.status ?? "passing") ?? .passing
                if status == .maintenance { status = .passing }
                let moved = HealthMath.next(
                    status: status, failures: Int(state?.failures ?? 0), successes: Int(state?.successes ?? 0), result: probe.result,
                    failAfter: check.failThreshold, passAfter: check.passThreshold)
                let inMaintenance = windows.contains { $0 == "*" || $0 == check.component }
                let settled: HealthStatus = inMaintenance ? .maintenance : moved.status
                let recent =
                    try conn.query("SELECT result FROM system_health WHERE check_name = \(check.name) ORDER BY id DESC LIMIT 20")
                    .compactMap { HealthStatus(rawValue: try $0.decode(String.self, at: 0)) }.reversed() + [probe.result]
                let flapping = HealthMath.flapping(was: state?.flapping ?? false, results: Array(recent))
                let previous = HealthStatus(rawValue: state?.status ?? "")
                let changedAt = previous == settled ? (state?.changedAt ?? now) : now
                try conn.execute(
                    """
                    INSERT INTO system_health (check_name, component, result, status, latency_ms, details, instance, checked_at)
                    VALUES (\(check.name), \(check.component), \(probe.result.rawValue), \(settled.rawValue), \(probe.latencyMs),
                    \(probe.details), \(instance), \(now))
                    """)
                try conn.execute(
                    """
                    INSERT INTO health_state (check_name, status, failures, successes, flapping, changed_at, checked_at)
                    VALUES (\(check.name), \(settled.rawValue), \(Int64(moved.failures)), \(Int64(moved.successes)), \(flapping),
                    \(changedAt), \(now))
                    ON CONFLICT (check_name) DO UPDATE SET status = excluded.status, failures = excluded.failures, successes =
                    excluded.successes,
                        flapping = excluded.flapping, changed_at = excluded.changed_at, checked_at = excluded.checked_at
                    """)
            }
        }
    }

    static func activeMaintenance(_ conn: any SQLConnection, at time: Date) throws -> [String] {
        try conn.query("SELECT component FROM health_maintenance WHERE starts_at <= \(time) AND ends_at > \(time)").map {
            try $0.decode(String.self, at: 0)
        }
    }

    /// Schedules a maintenance window for a component (`*`: all).
    public func addMaintenance(_ grant: Grant, component: String, from: Date, to: Date, reason: String) async throws {
        if component != "*" { try Names.check(component, what: "component") }
        guard from < to else { throw SuiteError(.invalid, "a maintenance window must end after it starts") }
        let accessor = grant.accessor
        _ = try await database.transaction { conn in
            try conn.execute(
                """
                INSERT INTO health_maintenance (component, starts_at, ends_at, reason, created_by)
                VALUES (\(component), \(from.roundedToStoredPrecision), \(to.roundedToStoredPrecision), \(reason), \(accessor))
                """)
        }
    }

    // MARK: reading

    /// Every check's state, each component's (its worst check) and the overall status (the worst component;
    /// maintenance counts as neither up nor down).
    public func status(_ grant: Grant) async throws -> (overall: HealthStatus, components: [String: HealthStatus], checks: [CheckState]) {
        let checks = try await database.read { conn in
            let definitions = try Self.definitions(conn)
            var states: [String: HealthStateRecord] = [:]
            for state in try conn.query(HealthStateRecord.self, "SELECT \(columns: HealthStateRecord.Column.self) FROM health_state") {
                states[state.checkName] = state
            }
            var latest: [String: LatestProbeRecord] = [:]
            for probe in try conn.query(
                LatestProbeRecord.self,
                """
                SELECT \(columns: LatestProbeRecord.Column.self, of: "h") FROM system_health h
                JOIN health_state s ON s.check_name = h.check_name AND s.checked_at = h.checked_at
                """)
            { latest[probe.checkName] = probe }
            return try definitions.map { check -> CheckState in
                let state = states[check.name]
                return CheckState(
                    name: check.name, component: check.component,
                    status: try state.map { try HealthStatus(sqlValue: .text($0.status)) } ?? .passing, flapping: state?.flapping ?? false,
                    changedAt: state?.changedAt ?? WallClock.now, checkedAt: state?.checkedAt,
                    latencyMs: latest[check.name]?.latencyMs, details: latest[check.name]?.details ?? "not run yet")
            }
        }
        var components: [String: HealthStatus] = [:]
        for check in checks {
            let current = components[check.component]
            if current == nil || check.status.severity > current!.severity || current == .maintenance {
                components[check.component] = check.status
            }
        }
        let overall = components.values.filter { $0 != .maintenance }.max { $0.severity < $1.severity } ?? .passing
        return (overall, components, checks)
    }

    /// A check's latest results, newest first.
    public func results(_ grant: Grant, name: String, limit: Int = 100) async throws -> [CheckResult] {
        guard (1...10_000).contains(limit) else { throw SuiteError(.invalid, "limit must be from 1 to 10000") }
        return try await database.read { conn in
            try conn.query(
                CheckResult.self,
                """
                SELECT \(columns: CheckResult.Column.self) FROM system_health WHERE check_name = \(name) ORDER BY id DESC LIMIT
                \(Int64(limit))
                """)
        }
    }

    /// Availability of a check over each window ending now.
    public func availability(
        _ grant: Grant, name: String, windows: [TimeInterval] = HealthMonitor.availabilityWindows, now: Date = WallClock.now
    )
        async throws -> [Availability]
    {
        try await uptime(grant, name: name, buckets: 0, width: 0, windows: windows, now: now).windows
    }

    /// The windows availability is reported over: a day, a week, 30 days.
    public static let availabilityWindows: [TimeInterval] = [86_400, 7 * 86_400, 30 * 86_400]

    /// Availability of a check in `count` consecutive buckets of `width` seconds, oldest first, the last one
    /// ending now: the console's uptime bar (each bucket's share up, or nil when nothing was observed in it).
    public func uptime(_ grant: Grant, name: String, buckets count: Int = 24, width: TimeInterval = 3600, now: Date = WallClock.now)
        async throws -> [Availability]
    {
        try await uptime(grant, name: name, buckets: max(1, count), width: width, windows: [], now: now).buckets
    }

    /// The uptime buckets (at most 500) and the availability over `windows` ending now, from one read of the
    /// check's results (the console's overview draws both for every check).
    public func uptime(
        _ grant: Grant, name: String, buckets count: Int, width: TimeInterval, windows: [TimeInterval], now: Date = WallClock.now
    ) async throws -> (buckets: [Availability], windows: [Availability]) {
        let count = max(0, min(count, 500))
        let history = try await history(name: name, since: now.addingTimeInterval(-max(width * Double(count), windows.max() ?? 0)))
        let buckets = (0..<count).map { index in
            let from = now.addingTimeInterval(-width * Double(count - index))
            return history.availability(from: from, to: from.addingTimeInterval(width))
        }
        return (buckets, windows.map { history.availability(from: now.addingTimeInterval(-$0), to: now) })
    }

    /// What availability is computed from: a check's results since a day before `since` (the state carried
    /// into the window), the maintenance windows of its component, its interval.
    private struct CheckHistory {
        let results: [(Date, HealthStatus)]
        let maintenance: [(Date, Date)]
        let interval: TimeInterval

        func availability(from: Date, to: Date) -> Availability {
            HealthMath.availability(results: results, maintenance: maintenance, from: from, to: to, interval: interval)
        }
    }

    private func history(name: String, since: Date) async throws -> CheckHistory {
        let (definition, results, maintenance) = try await database.read {
            conn -> (HealthCheckDefinition?, [(Date, HealthStatus)], [(Date, Date, String)]) in
            let definition = try conn.queryScalar(String.self, "SELECT definition FROM health_checks WHERE name = \(name)").map {
                try JSONText.decode(HealthCheckDefinition.self, $0)
            }
            let results = try conn.query(
                HealthResultRecord.self,
                """
                SELECT \(columns: HealthResultRecord.Column.self) FROM system_health
                WHERE check_name = \(name) AND checked_at >= \(since.addingTimeInterval(-86_400)) ORDER BY checked_at
                """
            ).map { ($0.checkedAt, $0.status) }
            let maintenance = try conn.query(
                MaintenanceWindowRecord.self,
                "SELECT \(columns: MaintenanceWindowRecord.Column.self) FROM health_maintenance WHERE ends_at > \(since)"
            ).map { ($0.startsAt, $0.endsAt, $0.component) }
            return (definition, results, maintenance)
        }
        guard let definition else { throw SuiteError(.notFound, "no health check named \(name)") }
        return CheckHistory(
            results: results,
            maintenance: maintenance.filter { $0.2 == "*" || $0.2 == definition.component }.map { ($0.0, $0.1) },
            interval: Double(definition.intervalSeconds))
    }
}

extension HealthStatus: SQLTextEnum {}

extension CheckResult: SQLRowDecodable {
    /// The columns of `system_health` a result reads.
    enum Column: String, SQLColumn {
        case checkedAt = "checked_at", result, status, latencyMs = "latency_ms", details
    }

    /// A status this version does not know reads as `critical`, as an unknown state should alarm, not fail the page.
    public init(row: SQLRow) throws {
        checkedAt = try row.decode(Column.checkedAt)
        result = HealthStatus(rawValue: try row.decode(Column.result, as: String.self)) ?? .critical
        status = HealthStatus(rawValue: try row.decode(Column.status, as: String.self)) ?? .critical
        latencyMs = try row.decode(Column.latencyMs)
        details = try row.decode(Column.details)
    }
}
