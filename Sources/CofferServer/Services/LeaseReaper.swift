import CofferAccess
import CofferEngines
import CofferHTTP
import CofferSystem
import Logging
import ServiceLifecycle

/// Revokes expired leases in bounded batches of 100, each batch a Gate request of the service identity
/// `lease-reaper`; a lease whose revocation fails backs off on its own instead of holding up the rest.
struct LeaseReaper: Service {
    let engine: DatabaseEngine
    let gate: Gate
    let logger: Logger

    func run() async throws {
        // Checked once a second, so a graceful shutdown waits at most that long (a batch in progress finishes).
        var more = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // A full batch means more are waiting: the next one starts at once, the service's requests interleave.
            if !more { try? await Task.sleep(for: .seconds(1)) }
            more = false
            guard !Task.isShuttingDownGracefully, (try? await engine.hasExpiredLeases()) == true else { continue }
            let request = GateRequest.service(.leaseReaper, path: "sys/leases/tidy", operation: .delete)
            do {
                let (revoked, failed) = try await gate.perform(request, status: { _ in 200 }) { grant in
                    try await engine.reapExpired(grant, limit: 100)
                }
                more = revoked + failed == 100
                if failed > 0 {
                    logger.warning(
                        "lease revocations failed; they are retried with backoff",
                        metadata: ["coffer.revoked": "\(revoked)", "coffer.failed": "\(failed)"])
                }
            } catch {
                logger.warning("the lease reaper could not run", metadata: ["coffer.error": "\(error)"])
            }
        }
    }
}
