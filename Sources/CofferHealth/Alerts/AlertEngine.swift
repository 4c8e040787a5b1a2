public import CofferAccess
public import CofferFoundation
public import CofferStore
public import Foundation
public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Alerts: rules evaluated against the error log, the metrics and the health checks; every transition
/// (firing, resolved) and every repeat is stored in `alert_history` with what each sink was told; a firing
/// alert is repeated every `repeat_interval`; silences stop notifications, not the history. Alerts are
/// grouped: one per rule and component (errors), check (health) or label set (metrics).
public final class AlertEngine: Sendable {
    let database: any Database
    let metrics: any AlertMetricSource
    let logger: Logger

    public init(database: any Database, metrics: any AlertMetricSource, logger: Logger) {
        self.database = database
        self.metrics = metrics
        self.logger = logger
    }

    /// Makes the stored rules those of the file (others removed unless `prune` is false).
    public func apply(_ grant: Grant, _ rules: [AlertRule], prune: Bool = true) async throws -> (
        added: [String], changed: [String], removed: [String]
    ) {
        for rule in rules { try rule.validate() }
        let texts = try rules.map { ($0.name, try JSONText.encode($0)) }
        return try await database.transaction { conn in
            let now = WallClock.now.roundedToStoredPrecision
            let existing = try DefinitionRecord.all(in: "alert_rules", on: conn)
            var added: [String] = [], changed: [String] = [], removed: [String] = []
            for (name, text) in texts where existing[name] != text {
                if existing[name] == nil { added.append(name) } else { changed.append(name) }
                try conn.execute(
                    """
                    INSERT INTO alert_rules (name, definition, updated_at) VALUES (\(name), \(text), \(now))
                    ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
                    """)
            }
            if prune {
                for name in existing.keys.sorted() where !texts.contains(where: { $0.0 == name }) {
                    try conn.execute("DELETE FROM alert_rules WHERE name = \(name)")
                    try conn.execute("DELETE FROM alert_state WHERE rule = \(name)")
                    removed.append(name)
                }
            }
            return (added.sorted(), changed.sorted(), removed)
        }
    }

    public func rules(_ grant: Grant) async throws -> [AlertRule] {
        try await database.read { conn in
            try conn.query("SELECT definition FROM alert_rules ORDER BY name").map {
                try JSONText.decode(AlertRule.self, try $0.decode(String.self, at: 0))
            }
        }
    }

    /// Silences a rule (`*`: all) until a time: notifications stop, the history goes on.
    public func silence(_ grant: Grant, rule: String, until: Date, reason: String) async throws {
        if rule != "*" { try Names.check(rule, what: "rule") }
        guard until > WallClock.now else { throw SuiteError(.invalid, "until must be in the future") }
        let accessor = grant.accessor
        _ = try await database.transaction { conn in
            try conn.execute(
                """
                INSERT INTO alert_silences (rule, until_at, reason, created_by) VALUES (\(rule),
                \(until.roundedToStoredPrecision), \(reason), \(accessor))
                """
            )
        }
    }

    /// Alerts firing now.
    public func firing(_ grant: Grant) async throws -> [FiringAlert] {
        try await database.read { conn in
            try conn.query(
                FiringAlert.self, "SELECT \(columns: FiringAlert.Column.self) FROM alert_state WHERE state = 'firing' ORDER BY since")
        }
    }

    /// The history, newest first.
    public func history(_ grant: Grant, limit: Int = 100) async throws -> [AlertTransition] {
        guard (1...10_000).contains(limit) else { throw SuiteError(.invalid, "limit must be from 1 to 10000") }
        return try await database.read { conn in
            try conn.query(
                AlertTransition.self,
                "SELECT \(columns: AlertTransition.Column.self) FROM alert_history ORDER BY id DESC LIMIT \(Int64(limit))")
        }
    }

    // MARK: evaluation

    /// Evaluates every rule once at `now`, stores the transitions and notifies the sinks.
    /// - Returns: the notices sent (or withheld by a silence).
    @discardableResult
    public func evaluate(_ grant: Grant, now: Date = WallClock.now) async throws -> [AlertNotice] {
        let rules = try await self.rules(grant)
        var notices: [AlertNotice] = []
        for rule in rules {
            let firing = try await conditions(grant, rule, now: now)
            notices += try await settle(rule, firing: firing, now: now)
        }
        return notices
    }

    /// The groups for which the rule's condition holds, with a summary each.
    func conditions(_ grant: Grant, _ rule: AlertRule, now: Date) async throws -> [String: String] {
        let since = now.addingTimeInterval(-Double(rule.windowSeconds))
        switch rule.type {
        case .errorBurst:
            let levels = Severity.allCases.filter { $0 >= (rule.severity ?? .critical) }.map(\.rawValue)
            let (component, count) = (rule.component, Int64(rule.count ?? 1))
            return try await database.read { conn in
                var query: SQLQuery =
                    """
                    SELECT component, count(*) AS n FROM error_logs
                    WHERE occurred_at >= \(since) AND occurred_at <= \(now) AND severity IN (\(SQLQuery.list(levels)))
                    """
                if let component { query.append(" AND component = \(component)") }
                query.append(" GROUP BY component")
                var groups: [String: String] = [:]
                for row in try conn.query(ComponentCountRecord.self, query) where row.count >= count {
                    groups[row.component] =
                        "\(row.count) events at \(rule.severity?.rawValue ?? "critical") or worse in \(rule.windowSeconds) s"
                }
                return groups
            }
        case .metricThreshold:
            let values = try await metrics.lastValues(
                grant, name: rule.metric ?? "", from: since, to: now, step: Int64(rule.windowSeconds),
                function: rule.fn ?? .avg, groupBy: rule.groupBy ?? [], match: rule.match ?? [:])
            var groups: [String: String] = [:]
            for (labels, value) in values {
                guard let threshold = rule.value, let op = rule.op, op.holds(value, threshold) else { continue }
                let key = labels.isEmpty ? "*" : labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                groups[key] = "\(rule.fn?.rawValue ?? "avg")(\(rule.metric ?? "")) = \(value) \(op.rawValue) \(threshold)"
            }
            return groups
        case .healthTransition:
            let wanted = (rule.to ?? .critical).rawValue
            let check = rule.check
            return try await database.read { conn in
                var query: SQLQuery = "SELECT s.check_name FROM health_state s WHERE s.status = \(wanted)"
                if let check { query.append(" AND s.check_name = \(check)") }
                var groups: [String: String] = [:]
                for name in try conn.query(query).map({ try $0.decode(String.self, at: 0) }) { groups[name] = "\(name) is \(wanted)" }
                return groups
            }
        }
    }

    /// Compares with the stored state: new groups fire, vanished ones resolve, long-firing ones repeat.
    func settle(_ rule: AlertRule, firing: [String: String], now: Date) async throws -> [AlertNotice] {
        let at = now.roundedToStoredPrecision
        let (state, silenced) = try await database.read { conn -> ([String: (String, Date?)], Bool) in
            var state: [String: (String, Date?)] = [:]
            for row in try conn.query(
                AlertGroupStateRecord.self,
                "SELECT \(columns: AlertGroupStateRecord.Column.self) FROM alert_state WHERE rule = \(rule.name)")
            {
                state[row.group] = (row.state, row.lastNotified)
            }
            let silenced =
                try conn.queryFirst("SELECT id FROM alert_silences WHERE (rule = \(rule.name) OR rule = '*') AND until_at > \(at)") != nil
            return (state, silenced)
        }
        var notices: [AlertNotice] = []
        for (group, summary) in firing.sorted(by: { $0.key < $1.key }) {
            let previous = state[group]
            if previous?.0 != "firing" {
                notices.append(AlertNotice(rule: rule.name, group: group, state: "firing", summary: summary, at: at))
            } else if let last = previous?.1, now.timeIntervalSince(last) >= Double(rule.repeatSeconds) {
                notices.append(AlertNotice(rule: rule.name, group: group, state: "repeat", summary: summary, at: at))
            }
        }
        for (group, value) in state.sorted(by: { $0.key < $1.key }) where value.0 == "firing" && firing[group] == nil {
            notices.append(AlertNotice(rule: rule.name, group: group, state: "resolved", summary: "the condition no longer holds", at: at))
        }
        // Claim each transition first: the state row changes only if it is still what this evaluation saw, so
        // with several instances on one database exactly one of them notifies (and records) it.
        let candidates = notices
        let repeatSeconds = Double(rule.repeatSeconds)
        let claimed = try await database.transaction { conn -> [AlertNotice] in
            try candidates.filter { notice in
                let state = notice.state == "resolved" ? "resolved" : "firing"
                let due = notice.at.addingTimeInterval(-repeatSeconds)
                let changed = try conn.execute(
                    """
                    INSERT INTO alert_state (rule, group_key, state, since, last_notified) VALUES (\(notice.rule),
                    \(notice.group), \(state), \(notice.at), \(notice.at))
                    ON CONFLICT (rule, group_key) DO UPDATE SET state = excluded.state, last_notified = excluded.last_notified,
                        since = CASE WHEN alert_state.state = excluded.state THEN alert_state.since ELSE excluded.since END
                    WHERE alert_state.state <> excluded.state OR alert_state.last_notified IS NULL OR alert_state.last_notified <= \(due)
                    """)
                return changed > 0
            }
        }
        var deliveries: [String] = []
        for notice in claimed { deliveries.append(silenced ? "silenced" : await deliver(notice, sinks: rule.sinks)) }
        let sent = Array(zip(claimed, deliveries))
        try await database.transaction { conn in
            for (notice, delivery) in sent {
                try conn.execute(
                    """
                    INSERT INTO alert_history (rule, group_key, state, summary, delivery, at)
                    VALUES (\(notice.rule), \(notice.group), \(notice.state), \(notice.summary), \(delivery), \(notice.at))
                    """)
            }
        }
        return claimed
    }

    // MARK: sinks

    /// Sends a notice to every sink; a webhook is retried (1 s, 2 s, 4 s …) up to its attempts.
    /// - Returns: what happened at each sink, for the history.
    func deliver(_ notice: AlertNotice, sinks: [AlertRule.Sink]) async -> String {
        var outcomes: [String] = []
        for sink in sinks {
            switch sink.type {
            case .log:
                logger.warning("alert \(notice.state): \(notice.rule) [\(notice.group)] \(notice.summary)")
                outcomes.append("log: written")
            case .webhook:
                let encoder = JSONEncoder()
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = .sortedKeys
                let body = (try? encoder.encode(notice)) ?? Data()
                let attempts = sink.attempts ?? 3
                var outcome = ""
                for attempt in 1...attempts {
                    let url = sink.url ?? ""
                    let status = await Task.detached { Self.post(url, body: body) }.value
                    if let status, (200..<300).contains(status) {
                        outcome = "webhook: delivered (attempt \(attempt))"
                        break
                    }
                    outcome =
                        "webhook: failed after \(attempt) attempt\(attempt == 1 ? "" : "s") (\(status.map { "HTTP \($0)" } ?? "no answer"))"
                    if attempt < attempts { try? await Task.sleep(for: .seconds(Double(1 << (attempt - 1)))) }
                }
                outcomes.append(outcome)
            }
        }
        return outcomes.joined(separator: "; ")
    }

    /// A JSON POST over plain HTTP; the status, or nil without an answer (5 s timeouts).
    static func post(_ url: String, body: Data) -> Int? {
        guard let parsed = URL(string: url), let host = parsed.host,
            let fd = try? Probes.connect(host: host, port: parsed.port ?? 80, timeout: 5)
        else { return nil }
        defer { close(fd) }
        var timeout = Glibc.timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<Glibc.timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<Glibc.timeval>.size))
        let path = parsed.path.isEmpty ? "/" : parsed.path + (parsed.query.map { "?" + $0 } ?? "")
        let request =
            Array(
                """
                POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\nContent-Length: \
                \(body.count)\r\nUser-Agent: coffer-alerts\r\nConnection: close\r\n\r\n
                """
                .utf8) + Array(body)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let parts = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: " ")
        return parts.count >= 2 ? Int(parts[1]) : nil
    }
}
