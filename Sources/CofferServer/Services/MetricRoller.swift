import CofferFoundation
import CofferMetrics
import Logging
import ServiceLifecycle

/// Merges ingested metric points into their minute and hour rollups every ``interval``, and once more at
/// shutdown, off the ingest's path. Queries do not wait for it: they merge what is still pending, so this pass
/// decides only how much a query has to merge (Docs/SUITE.md, "System metrics"). Every instance runs one; on
/// PostgreSQL they take turns on an advisory lock and each pending row is merged once.
struct MetricRoller: Service {
    static let interval: Duration = .milliseconds(500)
    let metrics: MetricStore
    let reporter: ErrorReporter
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: Self.interval)
            await drain()
        }
        await drain()
    }

    private func drain() async {
        do {
            while true {
                let (points, malformed) = try await metrics.rollUpPending()
                if malformed > 0 {
                    logger.error(
                        "pending metric rows that did not parse were dropped; their raw points are kept, their buckets' rollups miss them",
                        metadata: ["coffer.metrics.malformed": "\(malformed)"])
                    reporter.report(
                        component: "coffer.metrics", severity: .error, type: "MalformedPendingPoints",
                        message: "\(malformed) pending metric rows did not parse and were dropped")
                }
                if points == 0 && malformed == 0 { return }
            }
        } catch {
            logger.warning("metric rollups not merged; queries still merge the pending points", metadata: ["coffer.error": "\(error)"])
        }
    }
}
