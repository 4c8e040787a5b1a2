import CofferAccess
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/coffer/metrics/…` (Docs/API.md, "System metrics"): batch ingest (JSON, or Prometheus' text format),
/// range queries, series, retention. Policies: `metrics-reader`, `metrics-writer`.
public struct MetricRoutes: Sendable {
    let store: MetricStore
    let requests: RequestMetrics

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(store: MetricStore, requests: RequestMetrics) {
        self.store = store
        self.requests = requests
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        // Vault's path for a service's own metrics (`format=prometheus`), and Prometheus' default `/metrics`,
        // both with a token (a scraper's bearer token; policy path `sys/metrics` or `metrics`).
        let exposition: GatedRouter.Handler = { request, _, _ in
            guard request.uri.path == "/metrics" || request.uri.queryParameters["format"] == "prometheus" else {
                throw APIError(.badRequest, "only format=prometheus is served (text exposition 0.0.4)")
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: requests.exposition)))
        }
        router.on("/v1/sys/metrics", method: .get, exposition)
        router.on("/metrics", method: .get, exposition)
        router.on("/v1/coffer/metrics/points", method: .post) { request, context, grant in
            let points: [MetricPoint]
            if request.headers[.contentType]?.hasPrefix("text/plain") == true {
                let buffer = try await request.body.collect(upTo: 8 << 20)
                points = try PrometheusText.parse(String(decoding: buffer.readableBytesView, as: UTF8.self))
            } else {
                let body = try await Body.decode(PointsBody.self, request, context)
                points = try body.points.enumerated().map { index, point in
                    MetricPoint(
                        name: point.name, labels: point.labels ?? [:], value: point.value.value,
                        timestamp: try point.timestamp.map { try SuiteTime.parse($0.text, field: "points[\(index)].timestamp") })
                }
            }
            let (stored, duplicates) = try await store.ingest(grant, points)
            grant.auditFact("points", "\(stored)")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["stored": stored, "duplicates": duplicates]))
        }
        router.on("/v1/coffer/metrics/query", method: .get) { request, _, grant in
            let query = request.uri.queryParameters
            func text(_ key: Substring) -> String? { query[key].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
            guard let name = text("name") else { throw APIError(.badRequest, "name is required") }
            guard let function = MetricFunction(rawValue: text("fn") ?? "avg") else {
                throw APIError(.badRequest, "fn must be one of \(MetricFunction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let to = try text("to").map { try SuiteTime.parse($0, field: "to") } ?? WallClock.now
            let from = try text("from").map { try SuiteTime.parse($0, field: "from") } ?? to.addingTimeInterval(-3600)
            let step = try Duration.seconds(of: DurationValue(text("step") ?? "60"), field: "step")
            var match: [String: String] = [:]
            for pair in (text("match") ?? "").split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw APIError(.badRequest, "match looks like method=GET,status=200") }
                match[parts[0]] = parts[1]
            }
            let groupBy = (text("by") ?? "").split(separator: ",").map(String.init)
            let results = try await store.query(
                grant, MetricQuery(name: name, from: from, to: to, step: step, function: function, groupBy: groupBy, match: match))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["result": results]))
        }
        router.on("/v1/coffer/metrics/series", method: .get) { request, _, grant in
            let series = try await store.series(grant, name: request.uri.queryParameters["name"].map(String.init))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["series": series]))
        }
        router.on("/v1/coffer/metrics/retention/:name", method: .get) { _, context, grant in
            let retention = try await store.retention(grant, name: try context.parameters.require("name"))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: retention))
        }
        router.onWrite("/v1/coffer/metrics/retention/:name", operation: .write) { request, context, grant in
            let name = try context.parameters.require("name")
            let body = try await Body.decode(RetentionBody.self, request, context)
            let current = try await store.retention(grant, name: name)
            let retention = MetricRetention(
                raw: try body.raw.map { try Duration.seconds(of: $0, field: "raw") } ?? current.raw,
                minute: try body.minute.map { try Duration.seconds(of: $0, field: "minute") } ?? current.minute,
                hour: try body.hour.map { try Duration.seconds(of: $0, field: "hour") } ?? current.hour,
                maxSeries: body.max_series ?? current.maxSeries)
            try await store.setRetention(grant, name: name, retention)
            return Response(status: .noContent)
        }
    }

    /// A JSON number (Prometheus' `"NaN"` and `"+Inf"` strings too, so they can be refused by name).
    struct NumberValue: Decodable {
        let value: Double

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) {
                value = number
                return
            }
            switch try container.decode(String.self) {
            case "NaN": value = .nan
            case "+Inf", "Inf": value = .infinity
            case "-Inf": value = -.infinity
            case let text: value = Double(text) ?? .nan
            }
        }
    }

    package struct PointsBody: Decodable {
        let points: [Point]

        package struct Point: Decodable {
            let name: String
            var labels: [String: String]?
            let value: NumberValue
            var timestamp: TimeValue?
        }
    }

    package struct RetentionBody: Decodable {
        var raw: DurationValue?
        var minute: DurationValue?
        var hour: DurationValue?
        var max_series: Int64?
    }
}
