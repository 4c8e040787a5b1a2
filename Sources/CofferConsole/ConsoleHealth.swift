import CofferAccess
import CofferErrorLog
import CofferFoundation
import CofferHTTP
import CofferHealth
import Foundation
import Hummingbird

/// The overview (the seed's health overview) and the health page. Each section is its own request to the Gate
/// on the API route's path, so a token sees the sections its policies allow and is told which it may not see:
/// - overview: `read coffer/health` (checks, with 24 hourly uptime cells and 24 h / 7 d / 30 d availability),
///   `read coffer/health/report` (components), `read coffer/health/alerts` (firing), `read coffer/errors/issues`
///   (unresolved critical issues);
/// - health: a check's recent results (`read coffer/health/checks/<name>/results`), the alert rules
///   (`list coffer/health/alerts/rules`) and the alert history (`read coffer/health/alerts/history`).
extension ConsoleRoutes {
    static let overviewPage = Page(label: "Overview", href: "/ui/", path: "coffer/health", operation: .read, extra: [])
    static let healthPage = Page(label: "Health", href: "/ui/health", path: "coffer/health/alerts/history", operation: .read, extra: [])

    func registerHealth(on router: Router<CofferRequestContext>) {
        router.get("/ui/") { request, context in
            try await page(request, context, Self.overviewPage) { token, _ in try await overview(token: token, context: context) }
        }
        router.get("/ui/health") { request, context in
            try await page(request, context, Self.healthPage) { token, _ in
                let check = request.uri.queryParameters["check"].map(String.init)
                return try await healthPage(token: token, check: check, context: context)
            }
        }
    }

    /// The answer of a request for a section, or nil when the token may not make it (the section says so).
    func section<R: Sendable>(
        _ token: String, _ path: CanonicalPath, operation: GateRequest.Operation = .read, context: CofferRequestContext,
        _ body: (Grant) async throws -> R
    ) async throws -> R? {
        let request = GateRequest(
            token: token, path: path, operation: operation, requestID: UUID().uuidString, remoteAddress: context.remoteAddress)
        do {
            return try await gate.perform(request, status: { _ in 200 }, body)
        } catch let error as AccessError where error.code == .permissionDenied {
            return nil
        }
    }

    private func overview(token: String, context: CofferRequestContext) async throws -> String {
        let now = Date()
        let (overall, states) = try await gate.perform(request(token, Self.overviewPage, context), status: { _ in 200 }) { grant in
            let (overall, _, checks) = try await health.status(grant)
            var states: [(CheckState, hours: [Availability], windows: [Availability])] = []
            for check in checks {
                let (hours, windows) = try await health.uptime(
                    grant, name: check.name, buckets: 24, width: 3600, windows: HealthMonitor.availabilityWindows, now: now)
                states.append((check, hours, windows))
            }
            return (overall, states)
        }
        let checks = states.map { check, hours, windows -> [String: Any] in
            [
                "name": check.name, "component": check.component, "status": check.status.rawValue, "flapping": check.flapping,
                "checked": check.checkedAt.map(Self.time) ?? "never", "details": check.details,
                "uptime": ConsoleCharts.uptimeBar(
                    hours.enumerated().map { index, hour in
                        ConsoleCharts.UptimeBucket(start: now.addingTimeInterval(-3600 * Double(24 - index)), percent: hour.percent)
                    }),
                "availability": windows.map { Self.percent($0.percent) }.joined(separator: " · ")
            ]
        }
        var values: [String: Any] = ["overall": overall.rawValue, "checks": checks]
        if let components = try await section(token, "coffer/health/report", context: context, { try await health.overview($0) }) {
            values["hasComponents"] = !components.isEmpty
            values["components"] = components.map { row -> [String: Any] in
                [
                    "component": row.component, "checks": String(row.checks), "critical": String(row.critical),
                    "warning": String(row.warning), "maintenance": String(row.maintenance), "flapping": String(row.flapping),
                    "openIssues": String(row.openIssues), "last": row.lastChecked.map(Self.time) ?? "never",
                    "worst": row.critical > 0 ? "critical" : row.warning > 0 ? "warning" : row.maintenance > 0 ? "maintenance" : "passing"
                ]
            }
        } else {
            values["componentsDenied"] = "Not shown: your token may not read coffer/health/report."
        }
        if let firing = try await section(token, "coffer/health/alerts", context: context, { try await alerts.firing($0) }) {
            values["alerts"] = firing.map { ["rule": $0.rule, "summary": $0.group, "since": Self.time($0.since)] }
            values["noAlerts"] = firing.isEmpty
        } else {
            values["alertsDenied"] = "Not shown: your token may not read coffer/health/alerts."
        }
        if let issues = try await section(
            token, "coffer/errors/issues", context: context, { try await errors.issues($0, status: .unresolved, limit: 200) })
        {
            let critical = issues.filter { $0.severity == .critical }.sorted { $0.lastSeen > $1.lastSeen }.prefix(10)
            values["critical"] = critical.map { issue -> [String: Any] in
                [
                    "id": String(issue.id), "title": issue.title, "component": issue.component, "count": String(issue.count),
                    "last": Self.time(issue.lastSeen)
                ]
            }
            values["noCritical"] = critical.isEmpty
        } else {
            values["criticalDenied"] = "Not shown: your token may not read coffer/errors/issues."
        }
        return Self.render(ConsoleTemplates.overview, values)
    }

    private func healthPage(token: String, check: String?, context: CofferRequestContext) async throws -> String {
        let history = try await gate.perform(request(token, Self.healthPage, context), status: { _ in 200 }) { grant in
            try await alerts.history(grant, limit: 100)
        }
        var values: [String: Any] = [
            "history": history.map { transition -> [String: Any] in
                [
                    "rule": transition.rule, "group": transition.group, "state": transition.state, "summary": transition.summary,
                    "delivery": transition.delivery, "at": Self.time(transition.at),
                    "class": transition.state == "resolved" ? "passing" : "critical"
                ]
            },
            "noHistory": history.isEmpty
        ]
        if let rules = try await section(
            token, "coffer/health/alerts/rules", operation: .list, context: context, { try await alerts.rules($0) })
        {
            values["rules"] = rules.map { rule -> [String: Any] in
                [
                    "name": rule.name, "type": rule.type.rawValue, "condition": Self.condition(rule),
                    "sinks": rule.sinks.map(\.type.rawValue).joined(separator: ", ")
                ]
            }
            values["noRules"] = rules.isEmpty
            values["hasRules"] = !rules.isEmpty
        } else {
            values["rulesDenied"] = "Not shown: your token may not list coffer/health/alerts/rules."
        }
        if let check, !check.isEmpty {
            // The name is held to the Gate's path rules, like any path it decides on.
            guard (try? Names.check(check, what: "check")) != nil,
                let path = try? CanonicalPath(validating: "coffer/health/checks/\(check)/results")
            else {
                throw APIError(.badRequest, "\(check) is not a health check's name")
            }
            let results = try await gate.perform(
                GateRequest(token: token, path: path, operation: .read, requestID: UUID().uuidString, remoteAddress: context.remoteAddress),
                status: { _ in 200 }
            ) { grant in try await health.results(grant, name: check, limit: 50) }
            values["check"] = check
            values["results"] = results.map { result -> [String: Any] in
                [
                    "time": Self.time(result.checkedAt), "result": result.result.rawValue, "status": result.status.rawValue,
                    "latency": String(format: "%.1f ms", result.latencyMs), "details": result.details
                ]
            }
            values["noResults"] = results.isEmpty
        }
        return Self.render(ConsoleTemplates.health, values)
    }

    /// A rule's condition in a line.
    static func condition(_ rule: AlertRule) -> String {
        switch rule.type {
        case .errorBurst:
            "\(rule.count ?? 0) or more \(rule.severity?.rawValue ?? "error") events in \(rule.windowSeconds) s"
                + (rule.component.map { " from \($0)" } ?? "")
        case .metricThreshold:
            "\(rule.fn?.rawValue ?? "avg")(\(rule.metric ?? "?")) over \(rule.windowSeconds) s "
                + "\(rule.op?.rawValue ?? ">") \(rule.value.map { ConsoleCharts.axisValue($0) } ?? "?")"
        case .healthTransition:
            "\(rule.check ?? "any check") is \((rule.to ?? .critical).rawValue)"
        }
    }

    static func percent(_ value: Double?) -> String {
        guard let value else { return "—" }
        return value >= 100 ? "100%" : String(format: "%.2f%%", value)
    }
}
