import CofferFoundation
import CofferHTTP
public import Foundation
import HTTPTypes
public import Hummingbird

/// Coffer's own request metrics: requests and their total duration by method, route template (never the
/// path itself, which names secrets) and status. Exposed at `/v1/sys/metrics?format=prometheus` and written
/// into `system_metrics` every 10 s by the maintenance task, so Coffer's own traffic is queryable like any metric.
public final class RequestMetrics: Sendable {
    /// Empty counters, for one server's lifetime.
    public init() {}

    struct Key: Hashable, Sendable {
        let method: String
        let route: String
        let status: Int
    }

    private let counts = Locked<[Key: (requests: Int64, seconds: Double)]>([:])

    public func record(method: String, route: String, status: Int, seconds: Double) {
        counts.withLock { counts in
            let current = counts[Key(method: method, route: route, status: status)] ?? (0, 0)
            counts[Key(method: method, route: route, status: status)] = (current.requests + 1, current.seconds + seconds)
        }
    }

    private var snapshot: [(Key, Int64, Double)] {
        counts.withLock { $0.map { ($0.key, $0.value.requests, $0.value.seconds) } }.sorted {
            ($0.0.route, $0.0.method, $0.0.status) < ($1.0.route, $1.0.method, $1.0.status)
        }
    }

    private static func labels(_ key: Key) -> [String: String] {
        ["method": key.method, "route": key.route, "status": String(key.status)]
    }

    /// Prometheus' text exposition (0.0.4).
    public var exposition: String {
        var text =
            "# HELP coffer_http_requests_total Requests answered, by method, route template and status.\n"
            + "# TYPE coffer_http_requests_total counter\n"
        let rows = snapshot
        func labelText(_ key: Key) -> String {
            Self.labels(key).sorted { $0.key < $1.key }.map {
                "\($0.key)=\"\($0.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
            }
            .joined(separator: ",")
        }
        for (key, requests, _) in rows { text += "coffer_http_requests_total{\(labelText(key))} \(requests)\n" }
        text +=
            "# HELP coffer_http_request_duration_seconds_sum Time spent answering, by method, route template and status.\n"
            + "# TYPE coffer_http_request_duration_seconds_sum counter\n"
        for (key, _, seconds) in rows { text += "coffer_http_request_duration_seconds_sum{\(labelText(key))} \(seconds)\n" }
        return text
    }

    /// The counters as metric points at `time`.
    public func points(at time: Date) -> [MetricPoint] {
        snapshot.flatMap { key, requests, seconds in
            [
                MetricPoint(name: "coffer_http_requests_total", labels: Self.labels(key), value: Double(requests), timestamp: time),
                MetricPoint(name: "coffer_http_request_duration_seconds_sum", labels: Self.labels(key), value: seconds, timestamp: time)
            ]
        }
    }
}

/// Counts every request, after the router has named its route.
public struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RequestMetrics

    public init(metrics: RequestMetrics) { self.metrics = metrics }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        metrics.record(
            method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: Int(response.status.code),
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return response
    }
}
