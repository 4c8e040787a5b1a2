import CofferAccess
import CofferHTTP
import CofferRotation
import Logging
import ServiceLifecycle

/// Runs the rotations that are due on its own, every `interval`: the same engine, locks and audit as
/// `make rotate`, as the service identity `rotation-scheduler` (Policies/services/rotation-scheduler.hcl).
/// Several instances on one database may all run it: each credential's rotation takes its lock in
/// `rotation_locks`, and a run that finds, under the lock, that another instance has just rotated the
/// credential leaves it alone; so a credential is rotated once, by whichever instance got there first.
/// Off with `rotation_scheduler: false` (then only `make rotate` rotates).
struct RotationScheduler: Service {
    let engine: RotationEngine
    let gate: Gate
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // Slept in steps of at most a second, so a graceful shutdown waits at most that long (a run in progress
        // finishes: its steps are recorded, and one cut short is resumed by the next run anyway).
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var slept = Duration.zero
            while slept < interval && !Task.isShuttingDownGracefully {
                let step = min(.seconds(1), interval - slept)
                try? await Task.sleep(for: step)
                slept += step
            }
            guard !Task.isShuttingDownGracefully, (try? await engine.hasWork()) == true else { continue }
            let request = GateRequest.service(.rotationScheduler, path: "coffer/rotation/run", operation: .rotate)
            do {
                let outcomes = try await gate.perform(request, status: { _ in 200 }) { grant in
                    let outcomes = try await engine.run(grant)
                    outcomes.recordInAudit(grant)
                    return outcomes
                }
                for outcome in outcomes where outcome.result == .failed || outcome.result == .denied {
                    logger.warning(
                        "a scheduled rotation did not finish; it backs off and is retried",
                        metadata: [
                            "coffer.path": "\(outcome.path)", "coffer.result": "\(outcome.result.rawValue)",
                            "coffer.error": "\(outcome.error ?? "")"
                        ])
                }
            } catch {
                logger.warning("the rotation scheduler could not run", metadata: ["coffer.error": "\(error)"])
            }
        }
    }
}
