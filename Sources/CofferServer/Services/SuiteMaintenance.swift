import CofferAccess
import CofferCache
import CofferErrorLog
import CofferFeatures
import CofferFoundation
import CofferHTTP
import CofferKeys
import CofferMetrics
import CofferSystem
import Foundation
import Logging
import ServiceLifecycle

/// The suite's background work: warm cache namespaces loaded at start-up; read counters and Coffer's own
/// errors written every 2 s (and at shutdown); expired cache entries purged and feature values pruned by their sets' retention
/// once a minute, in bounded batches, each run audited through the Gate as the service identity `suite-maintenance` (Policies/services/).
struct SuiteMaintenance: Service {
    let gate: Gate
    let features: FeatureStore
    let cache: PersistentCache
    let errors: ErrorLog
    let reporter: ErrorReporter
    let metrics: MetricStore
    let requests: RequestMetrics
    let logger: Logger

    func run() async throws {
        if await !gate.keys.status.sealed {
            do {
                let loaded = try await perform("coffer/cache/warm-up", .read) { grant in try await cache.warmUp(grant) }
                if loaded > 0 { logger.info("cache namespaces warmed", metadata: ["coffer.cache.loaded": "\(loaded)"]) }
            } catch {
                logger.warning("cache warm-up failed; entries load on first read", metadata: ["coffer.error": "\(error)"])
            }
        }
        var ticks = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(2))
            await flush()
            ticks += 1
            if ticks % 5 == 0, await !gate.keys.status.sealed {
                // Coffer's own request counters, as points of its own metrics.
                let points = requests.points(at: WallClock.now)
                if !points.isEmpty {
                    do {
                        _ = try await perform("coffer/metrics/points", .write) { grant in try await metrics.ingest(grant, points).stored }
                    } catch {
                        logger.warning("Coffer's own metrics not written", metadata: ["coffer.error": "\(error)"])
                    }
                }
            }
            guard ticks % 30 == 0, !Task.isShuttingDownGracefully, await !gate.keys.status.sealed else { continue }
            do {
                let purged = try await perform("coffer/cache/tidy", .delete) { grant in try await cache.purgeExpired(grant) }
                let pruned = try await perform("coffer/features/tidy", .delete) { grant in try await features.prune(grant) }
                _ = try await perform("coffer/metrics/tidy", .delete) { grant in try await metrics.applyRetention(grant) }
                if purged + pruned > 0 {
                    logger.debug("suite tidy", metadata: ["coffer.cache.purged": "\(purged)", "coffer.features.pruned": "\(pruned)"])
                }
            } catch {
                logger.warning("suite tidy failed; it runs again in a minute", metadata: ["coffer.error": "\(error)"])
                reporter.report(
                    component: "coffer.maintenance", severity: .warning, type: String(describing: type(of: error)),
                    message: "suite tidy failed")
            }
        }
        await flush()
    }

    private func perform(_ path: CanonicalPath, _ operation: GateRequest.Operation, _ body: @escaping (Grant) async throws -> Int)
        async throws -> Int
    {
        try await gate.perform(.service(.suiteMaintenance, path: path, operation: operation), status: { _ in 200 }, body)
    }

    private func flush() async {
        let own = reporter.take()
        if !own.isEmpty, await !gate.keys.status.sealed {
            do {
                _ = try await perform("coffer/errors/events", .write) { grant in try await errors.log(grant, own).count }
            } catch {
                reporter.restore(own)
                logger.warning(
                    "Coffer's own errors not written to the error log; kept for the next flush", metadata: ["coffer.error": "\(error)"])
            }
        } else if !own.isEmpty {
            reporter.restore(own)
        }
        do { try await features.flushCounters() } catch {
            logger.warning("feature counters not written; kept for the next flush", metadata: ["coffer.error": "\(error)"])
        }
        do { try await cache.flushCounters() } catch {
            logger.warning("cache counters not written; kept for the next flush", metadata: ["coffer.error": "\(error)"])
        }
    }
}
