import CofferAccess
import CofferHTTP
import CofferHealth
import CofferModels
import CofferSystem
import Foundation
import Hummingbird

/// The dashboard's reports (Docs/API.md, "Reports"), read from their SQL views: the health overview under the
/// health policies, model performance under the models policies.
struct ReportRoutes: Sendable {
    let monitor: HealthMonitor
    let registry: ModelRegistry

    func register(on router: GatedRouter) {
        router.on("/v1/coffer/health/report", method: .get) { _, _, grant in
            let rows = try await monitor.overview(grant)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["components": rows.map(HealthRow.init)]))
        }
        router.on("/v1/coffer/models/_report", method: .get) { request, _, grant in
            let query = request.uri.queryParameters
            let rows = try await registry.performance(
                grant, model: query["model"].map(String.init), metric: query["metric"].map(String.init))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["rows": rows.map(ModelRow.init)]))
        }
    }

    struct HealthRow: Encodable {
        let component: String
        let checks: Int64
        let critical: Int64
        let warning: Int64
        let maintenance: Int64
        let flapping: Int64
        let never_run: Int64
        @EncodesNull var last_checked: String?
        let open_issues: Int64

        init(_ row: HealthOverviewRow) {
            component = row.component
            checks = row.checks
            critical = row.critical
            warning = row.warning
            maintenance = row.maintenance
            flapping = row.flapping
            never_run = row.neverRun
            last_checked = row.lastChecked.map { VaultTime.format($0) }
            open_issues = row.openIssues
        }
    }

    struct ModelRow: Encodable {
        let name: String
        let version: Int64
        let version_label: String
        let status: String
        let metric: String
        let value: Double
        let champion: Bool

        init(_ row: ModelPerformanceRow) {
            name = row.name
            version = row.version
            version_label = row.versionLabel
            status = row.status
            metric = "\(row.scope).\(row.metric)"
            value = row.value
            champion = row.champion
        }
    }
}
