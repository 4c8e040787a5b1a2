import CofferAccess
import CofferErrorLog
import CofferFoundation
import CofferHTTP
import CofferHealth
import CofferKeys
import CofferRotation
import Foundation
import Logging
import ServiceLifecycle

/// Deletes what is older than the retention settings (``RetentionPolicy``) once a minute: health check
/// results, alert history, error events and finished rotation runs, in batches of 1,000 rows per transaction,
/// each table's pass an audited request of the service identity `retention-pruner`
/// (Policies/services/retention-pruner.hcl). On several instances each deletes what it finds; a row deleted
/// twice is simply gone, so no lock is needed. Audit entries are archived, not deleted: sealed into segment
/// files in `archive` (``AuditTrail/archive(into:before:signer:sealer:limit:)``), then removed from the table;
/// two instances sealing the same stretch commit it once.
struct RetentionPruner: Service {
    let gate: Gate
    let policy: RetentionPolicy
    let health: HealthMonitor
    let alerts: AlertEngine
    let errors: ErrorLog
    let rotation: RotationEngine
    let trail: AuditTrail
    let archive: AuditArchive
    let logger: Logger

    /// Most segments sealed in one pass (each up to ``AuditTrail/segmentLimit`` entries), so that one pass
    /// catches up with a busy trail without holding the pruner for long.
    static let segmentsPerPass = 8

    func run() async throws {
        var ticks = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            ticks += 1
            guard ticks % 60 == 0, !Task.isShuttingDownGracefully, await !gate.keys.status.sealed else { continue }
            do {
                let deleted = try await pass(now: WallClock.now)
                if deleted.values.reduce(0, +) > 0 {
                    logger.info(
                        "retention pruned old rows",
                        metadata: deleted.mapValues { Logger.MetadataValue.string(String($0)) }.reduce(into: [:]) {
                            $0["coffer.pruned.\($1.key)"] = $1.value
                        })
                }
            } catch {
                logger.warning("the retention pruner could not run; it tries again in a minute", metadata: ["coffer.error": "\(error)"])
            }
        }
    }

    /// One pass over every table with a retention: the rows deleted, by table.
    func pass(now: Date) async throws -> [String: Int] {
        var deleted: [String: Int] = [:]
        func prune(
            _ table: String, _ path: CanonicalPath, keep seconds: Int64, _ body: @escaping @Sendable (Grant, Date) async throws -> Int
        )
            async throws
        {
            guard seconds > 0 else { return }
            let cutoff = now.addingTimeInterval(-Double(seconds))
            let request = GateRequest.service(.retentionPruner, path: path, operation: .delete)
            deleted[table] = try await gate.perform(request, status: { _ in 200 }) { grant in
                let count = try await body(grant, cutoff)
                grant.auditFact("deleted", String(count))
                return count
            }
        }
        try await prune("system_health", "coffer/health/tidy", keep: policy.healthResults) { try await health.pruneResults($0, before: $1) }
        try await prune("alert_history", "coffer/alerts/tidy", keep: policy.alertHistory) { try await alerts.pruneHistory($0, before: $1) }
        try await prune("error_logs", "coffer/errors/tidy", keep: policy.errorEvents) { try await errors.pruneEvents($0, before: $1) }
        try await prune("rotation_runs", "coffer/rotation/tidy", keep: policy.rotationRuns) { try await rotation.pruneRuns($0, before: $1) }
        try await prune("audit_log", "sys/audit-trail/tidy", keep: policy.auditTrail) { grant, cutoff in
            var archived = 0
            var files: [String] = []
            for _ in 0..<Self.segmentsPerPass {
                guard
                    let segment = try await trail.archive(
                        into: archive, before: cutoff, signer: try gate.keys.auditSigner(), sealer: try gate.sealer())
                else { break }
                archived += Int(segment.last - segment.first + 1)
                files.append(segment.file)
            }
            if !files.isEmpty { grant.auditFact("segments", files.joined(separator: ",")) }
            return archived
        }
        return deleted
    }
}
