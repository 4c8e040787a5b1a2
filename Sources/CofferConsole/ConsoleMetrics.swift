import CofferAccess
import CofferFoundation
import CofferHTTP
import CofferMetrics
import Foundation
import Hummingbird

/// The metrics page: a chart drawn on the server as SVG from the store's range query (`read
/// coffer/metrics/query`, the rollups when the step allows, as the API's query), with controls for the metric,
/// the range, the function and the labels to group by; the metric names come from `read coffer/metrics/series`.
extension ConsoleRoutes {
    static let metricsPage = Page(label: "Metrics", href: "/ui/metrics", path: "coffer/metrics/query", operation: .read, extra: [])
    /// The ranges offered and the step each is drawn with (whole minutes or hours, so rollups answer).
    static let metricRanges: [(name: String, seconds: Int64, step: Int64)] = [
        ("1h", 3600, 60), ("6h", 6 * 3600, 300), ("24h", 86_400, 900), ("7d", 7 * 86_400, 3600), ("30d", 30 * 86_400, 4 * 3600)
    ]
    /// The most series one chart draws (the legend says when there are more).
    static let chartSeries = 8

    func registerMetrics(on router: Router<CofferRequestContext>) {
        router.get("/ui/metrics") { request, context in
            try await page(request, context, Self.metricsPage) { token, _ in
                try await metricsPage(token: token, query: try MetricView(request.uri.queryParameters), context: context)
            }
        }
    }

    /// The page's controls, read once from the address; anything not offered is a 400 saying what is.
    struct MetricView {
        var name: String?
        var range: (name: String, seconds: Int64, step: Int64)
        var function: MetricFunction
        var groupBy: [String]

        init(_ query: Parameters) throws {
            func text(_ key: String) -> String? {
                query[Substring(key)].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
            }
            name = text("name")
            let rangeName = text("range") ?? "1h"
            guard let range = ConsoleRoutes.metricRanges.first(where: { $0.name == rangeName }) else {
                throw APIError(.badRequest, "range must be one of \(ConsoleRoutes.metricRanges.map(\.name).joined(separator: ", "))")
            }
            self.range = range
            guard let function = MetricFunction(rawValue: text("fn") ?? "avg") else {
                throw APIError(.badRequest, "fn must be one of \(MetricFunction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.function = function
            groupBy = (text("by") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    private func metricsPage(token: String, query view: MetricView, context: CofferRequestContext) async throws -> String {
        let to = Date(
            timeIntervalSince1970: (Date().timeIntervalSince1970 / Double(view.range.step)).rounded(.up) * Double(view.range.step))
        let from = to.addingTimeInterval(-Double(view.range.seconds))
        let results: [MetricSeriesResult]? = try await gate.perform(request(token, Self.metricsPage, context), status: { _ in 200 }) {
            grant in
            guard let name = view.name else { return nil }
            return try await metrics.query(
                grant, MetricQuery(name: name, from: from, to: to, step: view.range.step, function: view.function, groupBy: view.groupBy))
        }
        var values: [String: Any] = [
            "name": view.name ?? "", "by": view.groupBy.joined(separator: ","),
            "ranges": Self.metricRanges.map { ["value": $0.name, "selected": $0.name == view.range.name] },
            "functions": MetricFunction.allCases.map { ["value": $0.rawValue, "selected": $0 == view.function] }
        ]
        if let series = try await section(token, "coffer/metrics/series", context: context, { try await metrics.series($0) }) {
            let names = Set(series.map(\.name)).sorted()
            values["names"] = names.map { ["value": $0, "selected": $0 == view.name] }
            values["labels"] = Set(series.flatMap(\.labels.keys)).sorted().joined(separator: ", ")
        }
        if let results {
            let drawn = Array(results.prefix(Self.chartSeries))
            values["chart"] = ConsoleCharts.lineChart(drawn.map(\.points), from: from, to: to)
            values["legend"] = drawn.enumerated().map { index, result -> [String: Any] in
                let labels = result.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
                let last = result.points.max { $0.0 < $1.0 }.map { ConsoleCharts.axisValue($0.1) } ?? "—"
                return [
                    "swatch": ConsoleCharts.swatch(index), "labels": labels.isEmpty ? "all" : labels, "last": last, "source": result.source
                ]
            }
            values["shown"] = true
            if results.count > drawn.count {
                values["more"] = "\(results.count - drawn.count) more series not drawn: group by fewer labels."
            }
            values["step"] = "\(view.range.step) s"
        }
        return Self.render(ConsoleTemplates.metrics, values)
    }
}
