import CofferAccess
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/coffer/health…` (Docs/API.md, "System health"): the detail of every check and component with
/// availability, liveness and readiness probes for orchestrators, checks as code, maintenance windows.
/// `/v1/sys/health` stays Vault's. Policies: `health-reader`, `health-writer`.
public struct HealthRoutes: Sendable {
    let monitor: HealthMonitor
    let ready: @Sendable () async -> (Bool, String)

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(monitor: HealthMonitor, ready: @escaping @Sendable () async -> (Bool, String)) {
        self.monitor = monitor
        self.ready = ready
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        // Kubernetes' and Consul's probes: no token, no audit entry, answered even while the audit trail fails.
        router.probe("/v1/coffer/health/live", method: .get) { _, _ in
            VaultJSON.response(status: .ok, ["status": "alive"])
        }
        router.probe("/v1/coffer/health/ready", method: .get) { _, _ in
            let (isReady, reason) = await ready()
            return VaultJSON.response(
                status: isReady ? .ok : .serviceUnavailable, ["status": isReady ? "ready" : "not ready", "reason": reason])
        }
        // The dashboard's health overview (the `health_overview` view), per component.
        router.on("/v1/coffer/health/report", method: .get) { _, _, grant in
            let rows = try await monitor.overview(grant)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["components": rows]))
        }
        router.on("/v1/coffer/health", method: .get) { _, _, grant in
            let (overall, components, checks) = try await monitor.status(grant)
            var answers: [CheckAnswer] = []
            for check in checks {
                answers.append(CheckAnswer(state: check, availability: try await monitor.availability(grant, name: check.name)))
            }
            return VaultJSON.response(
                status: .ok,
                VaultEnvelope(
                    data: DetailAnswer(status: overall, components: components, checks: answers)))
        }
        router.onList("/v1/coffer/health/checks") { _, _, grant in
            try VaultJSON.keys(try await monitor.checks(grant).map(\.name))
        }
        router.on("/v1/coffer/health/checks", method: .put) { request, context, grant in
            // The whole checks file: every check replaced, the rest removed (`prune=false` keeps them).
            let buffer = try await request.body.collect(upTo: context.maxUploadSize)
            let checks = try HealthChecksFile.parse(Data(buffer.readableBytesView))
            let prune = request.uri.queryParameters["prune"] != "false"
            let (added, changed, removed) = try await monitor.apply(grant, checks, prune: prune)
            grant.auditFact(
                "checks", "+\(added.joined(separator: ",")) ~\(changed.joined(separator: ",")) -\(removed.joined(separator: ","))")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["added": added, "changed": changed, "removed": removed]))
        }
        router.on("/v1/coffer/health/checks/:name", method: .delete) { _, context, grant in
            try await monitor.deleteCheck(grant, name: try context.parameters.require("name"))
            return Response(status: .noContent)
        }
        router.on("/v1/coffer/health/checks/:name/results", method: .get) { request, context, grant in
            guard let limit = Int(request.uri.queryParameters["limit"].map(String.init) ?? "100") else {
                throw APIError(.badRequest, "limit must be a number")
            }
            let results = try await monitor.results(grant, name: try context.parameters.require("name"), limit: limit)
            return VaultJSON.response(
                status: .ok,
                VaultEnvelope(data: ["results": results]))
        }
        router.on("/v1/coffer/health/maintenance", method: .post) { request, context, grant in
            let body = try await Body.decode(MaintenanceBody.self, request, context)
            let from = try body.from.map { try SuiteTime.parse($0.text, field: "from") } ?? WallClock.now
            let to = try SuiteTime.parse(body.to.text, field: "to")
            try await monitor.addMaintenance(grant, component: body.component, from: from, to: to, reason: body.reason ?? "")
            return Response(status: .noContent)
        }
    }

    package struct MaintenanceBody: Decodable {
        let component: String
        var from: TimeValue?
        let to: TimeValue
        var reason: String?
    }

    struct DetailAnswer: Encodable {
        let status: HealthStatus
        let components: [String: HealthStatus]
        let checks: [CheckAnswer]
    }

    /// A check's state with its uptime over 24 hours, 7 days and 30 days (null when nothing was observed).
    struct CheckAnswer: Encodable {
        let state: CheckState
        let availability: [Availability]

        private enum CodingKeys: String, CodingKey { case uptime24h = "uptime_24h", uptime7d = "uptime_7d", uptime30d = "uptime_30d" }

        func encode(to encoder: any Encoder) throws {
            try state.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            for (index, key) in [CodingKeys.uptime24h, .uptime7d, .uptime30d].enumerated() {
                try container.encode(availability.count > index ? availability[index].percent : nil, forKey: key)
            }
        }
    }
}
