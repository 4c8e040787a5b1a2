import CofferEngines
import CofferHTTP
import CofferSystem
import Logging
import ServiceLifecycle

/// Writes secrets' usage counts every ``UsageTracker/flushInterval``, and once more at shutdown (before the
/// database closes: services stop in reverse order).
struct UsageFlusher: Service {
    let usage: UsageTracker
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: UsageTracker.flushInterval)
            await flush()
        }
        await flush()
    }

    private func flush() async {
        do { try await usage.flush() } catch {
            logger.warning("usage flush failed; the counts are kept for the next one", metadata: ["coffer.error": "\(error)"])
        }
    }
}
