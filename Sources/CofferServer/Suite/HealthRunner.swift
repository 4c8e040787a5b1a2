import CofferAccess
import CofferKeys
import CofferPersistence
import Foundation
import Logging
import ServiceLifecycle

/// Runs the health checks that are due, once a second, all at once, and evaluates the alert rules every
/// 10 s; both through the Gate as the service identity `health-runner` (Policies/services/health-runner.hcl).
struct HealthRunner: Service {
    let gate: Gate
    let monitor: HealthMonitor
    let alerts: AlertEngine
    /// The service's own readiness, for the built-in `coffer` check.
    let ready: @Sendable () async -> (Bool, String)
    let instance: String
    let logger: Logger

    func run() async throws {
        if await !gate.keys.status.sealed {
            do { try await perform("coffer/health/checks", .write) { grant in try await monitor.ensureSelfCheck(grant) } } catch {
                logger.warning("the built-in coffer health check could not be added", metadata: ["coffer.error": "\(error)"])
            }
        }
        var seconds = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            guard !Task.isShuttingDownGracefully, await !gate.keys.status.sealed else { continue }
            do { try await tick() } catch { logger.warning("health checks could not run", metadata: ["coffer.error": "\(error)"]) }
            seconds += 1
            if seconds % 10 == 0 {
                do { _ = try await perform("coffer/health/alerts/evaluate", .write) { grant in try await alerts.evaluate(grant).count } } catch {
                    logger.warning("alert rules could not be evaluated", metadata: ["coffer.error": "\(error)"])
                }
            }
        }
    }

    func tick() async throws {
        let due = try await perform("coffer/health/checks", .read) { grant in try await monitor.due(grant) }
        guard !due.isEmpty else { return }
        let results = await withTaskGroup(of: (HealthCheckDefinition, ProbeResult).self) { group in
            for check in due {
                if check.type == .coffer {
                    // Coffer's own health, from the same answer as the readiness probe.
                    group.addTask {
                        let started = ContinuousClock.now
                        let (isReady, reason) = await ready()
                        let elapsed = ContinuousClock.now - started
                        return (check, ProbeResult(result: isReady ? .passing : .critical,
                                                   latencyMs: Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000,
                                                   details: isReady ? "unsealed, storage current, audit committing" : reason))
                    }
                } else {
                    group.addTask { (check, await Probes.run(check)) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        _ = try await perform("coffer/health/results", .write) { grant in try await monitor.record(grant, results, instance: instance) }
    }

    private func perform<R: Sendable>(_ path: CanonicalPath, _ operation: GateRequest.Operation, _ body: (Grant) async throws -> R) async throws -> R {
        try await gate.perform(.service(.healthRunner, path: path, operation: operation), status: { _ in 200 }, body)
    }
}
