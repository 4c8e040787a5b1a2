import CofferAccess
import CofferKeys
import CofferPersistence
import Foundation
import Logging
import ServiceLifecycle

/// The suite's background work: warm cache namespaces loaded at start-up; read counters written every
/// 2 s (and at shutdown); expired cache entries purged and feature values pruned by their sets' retention
/// once a minute, in bounded batches, each run audited through the Gate as the service's own request.
struct SuiteMaintenance: Service {
    let gate: Gate
    let features: FeatureStore
    let cache: PersistentCache
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
            guard ticks % 30 == 0, !Task.isShuttingDownGracefully, await !gate.keys.status.sealed else { continue }
            do {
                let purged = try await perform("coffer/cache/tidy", .delete) { grant in try await cache.purgeExpired(grant) }
                let pruned = try await perform("coffer/features/tidy", .delete) { grant in try await features.prune(grant) }
                if purged + pruned > 0 { logger.debug("suite tidy", metadata: ["coffer.cache.purged": "\(purged)", "coffer.features.pruned": "\(pruned)"]) }
            } catch {
                logger.warning("suite tidy failed; it runs again in a minute", metadata: ["coffer.error": "\(error)"])
            }
        }
        await flush()
    }

    private func perform(_ path: String, _ operation: GateRequest.Operation, _ body: @escaping (Grant) async throws -> Int) async throws -> Int {
        let request = GateRequest(token: nil, path: path, operation: operation, access: .open, requestID: "suite-" + UUID().uuidString,
                                  remoteAddress: "coffer:suite-maintenance")
        return try await gate.perform(request, status: { _ in 200 }, body)
    }

    private func flush() async {
        do { try await features.flushCounters() } catch { logger.warning("feature counters not written; kept for the next flush", metadata: ["coffer.error": "\(error)"]) }
        do { try await cache.flushCounters() } catch { logger.warning("cache counters not written; kept for the next flush", metadata: ["coffer.error": "\(error)"]) }
    }
}
