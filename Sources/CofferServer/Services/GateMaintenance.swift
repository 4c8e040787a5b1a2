import CofferAccess
import CofferHTTP
import CofferKeys
import CofferSystem
import Logging
import ServiceLifecycle

/// The Gate's periodic work: a checkpoint when one is due on a quiet trail, the key heartbeat, and expired tokens removed.
struct GateMaintenance: Service {
    let gate: Gate
    let logger: Logger

    func run() async throws {
        var ticks = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(5))
            await gate.audit.checkpointIfDue()
            // Picks up another instance's key rotation and records the term this one seals under (rewrap --retire waits for it).
            do { try await gate.keys.heartbeat() } catch { logger.warning("key heartbeat failed", metadata: ["coffer.error": "\(error)"]) }
            ticks += 1
            if ticks % 12 == 0, await !gate.keys.status.sealed {
                do { try await gate.tokens.tidy() } catch { logger.warning("token tidy failed", metadata: ["coffer.error": "\(error)"]) }
                do { _ = try await gate.wrapping.tidy() } catch {
                    logger.warning("wrapping tidy failed", metadata: ["coffer.error": "\(error)"])
                }
            }
        }
    }
}
