import CofferFoundation
import CofferMetrics
import Foundation

/// Prometheus' text format, as `coffer/metrics/ingest` takes it from any scraper or script.
enum PrometheusTarget {
    static let target = FuzzTarget(
        "prometheus",
        "Prometheus text exposition: parsed or refused naming the line; every point has a valid metric name and "
            + "label names, and a time when a default is given; appending a comment line changes nothing"
    ) { input throws(FuzzFinding) in
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        guard let points = try? PrometheusText.parse(input.text, defaultTime: now) else { return }
        for point in points {
            try require(PrometheusName.isMetric(point.name), "a point named \(point.name) was parsed (not a metric name)")
            try require(point.labels.keys.allSatisfy(PrometheusName.isLabel), "a point with a label name that is not one was parsed")
            try require(point.timestamp != nil, "a point without a time was parsed though a default was given")
        }
        let commented = try? PrometheusText.parse(input.text + "\n# HELP trailing comment\n", defaultTime: now)
        try require(commented?.count == points.count, "a trailing comment changed what was parsed")
    }
}
