import CofferErrorLog
import CofferFoundation
import CofferHTTP
import CofferSystem
import Foundation

/// Coffer's own errors, queued for its error log (`error_logs`, component `coffer.*`): the request path
/// answers at once, and the suite's maintenance task writes the queue through the Gate every 2 s. At most
/// ``capacity`` wait; beyond that the oldest are dropped and counted in the next one's context.
final class ErrorReporter: Sendable {
    static let capacity = 1_000
    private let queue = Locked<(events: [ErrorEvent], dropped: Int)>(([], 0))
    private let host = ProcessInfo.processInfo.hostName

    func report(component: String, severity: Severity, type: String, message: String) {
        let event = ErrorEvent(
            component: component, severity: severity, message: message, errorType: type, host: host, occurredAt: WallClock.now)
        queue.withLock { queue in
            if queue.events.count >= Self.capacity {
                queue.events.removeFirst()
                queue.dropped += 1
            }
            queue.events.append(event)
        }
    }

    /// Everything queued, emptying the queue.
    func take() -> [ErrorEvent] {
        queue.withLock { queue in
            defer { queue = ([], 0) }
            guard queue.dropped > 0, var last = queue.events.popLast() else { return queue.events }
            last.context["dropped_before"] = .integer(Int64(queue.dropped))
            return queue.events + [last]
        }
    }

    /// Puts events back after a failed write (newest kept when over capacity).
    func restore(_ events: [ErrorEvent]) {
        queue.withLock { queue in queue.events = Array((events + queue.events).suffix(Self.capacity)) }
    }
}
