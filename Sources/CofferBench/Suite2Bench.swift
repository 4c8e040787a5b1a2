import ArgumentParser
import CofferAccess
import CofferErrorLog
import CofferFoundation
import CofferMetrics
import CofferModels
import CofferServer
import CofferStore
import Foundation
import Logging

/// `coffer-bench suite2`: metric points ingested in batches of 1,000 through the Gate next to the raw C-API
/// insert of the same rows in the same run (goal: at least 70% of raw), a 30-day p99 over 10 million points
/// read from the rollups (goal: under 100 ms), and error events per second with grouping; SQLite and PostgreSQL.
struct Suite2Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite2",
        abstract: "Metric ingest vs raw inserts, a 30-day p99 over 10M points, error events/s; SQLite and PostgreSQL."
    )

    @Option(help: "Points for the ingest comparison.") var ingest = 100_000
    @Option(help: "Points spread over 30 days for the query.") var points = 10_000_000
    @Option(help: "Error events.") var events = 20_000

    func run() async throws {
        var logger = Logger(label: "coffer.bench")
        logger.logLevel = .critical
        print(machineDescription())
        try await forEachBackend(target: "bench-suite2") { url, label in
            let (server, root) = try await unsealedServer(url: url, label: label, logger: logger)
            defer { try? FileManager.default.removeItem(atPath: server.models.blobs.root) }
            try await writePolicy(
                server, root: root, "bench-suite2",
                text: """
                    path "coffer/metrics/*" { capabilities = ["create", "read", "update", "delete", "list"] }
                    path "coffer/errors/*" { capabilities = ["create", "read", "update", "delete", "list"] }
                    """)
            let token = try await serviceToken(server, root: root, policy: "bench-suite2")
            print("")
            print("== \(label)")
            try await compareIngest(server, token: token, url: url, label: label)
            try await longQuery(server, token: token)
            try await errorEvents(server, token: token)
            await server.database.close()
        }
    }

    /// 10 series, consecutive seconds: each batch of 1,000 is 100 s of 10 series.
    private func batch(_ number: Int, start: Int64, name: String) -> [MetricPoint] {
        (0..<1000).map { offset in
            let index = number * 1000 + offset
            return MetricPoint(
                name: name, labels: ["instance": "host-\(index % 10)"], value: Double(index % 1000),
                timestamp: Date(timeIntervalSince1970: Double(start + Int64(index / 10))))
        }
    }

    private func compareIngest(_ server: CofferServer, token: String, url: String, label: String) async throws {
        let batches = ingest / 1000
        let start = Int64(Date().timeIntervalSince1970) - Int64(batches * 100) - 3600
        var gatedBest = 0.0, moduleBest = 0.0, drainedBest = 0.0, rawBest = 0.0
        for round in 0..<3 {
            // Through the Gate, a request (and its audit entries) per batch, as over HTTP; the rollup pass runs
            // alongside every 500 ms, as the server's MetricRoller does.
            var began = ContinuousClock.now
            try await withRollupPass(server) {
                for number in 0..<batches {
                    let points = batch(number, start: start, name: "bench_gated_\(round)")
                    _ = try await gated(server, token, "coffer/metrics/points", .write) { grant in
                        try await server.metrics.ingest(grant, points).stored
                    }
                }
            }
            gatedBest = max(gatedBest, Double(batches * 1000) / seconds(ContinuousClock.now - began))
            try await drainRollups(server)
            // The metric store alone (one grant for the run): what the raw insert is compared with. Queries are
            // current as soon as an ingest returns (they merge what the pass has not); the pass's own cost shows
            // in the second figure, which waits until it has merged everything.
            let prepared = (0..<batches).map { batch($0, start: start, name: "bench_module_\(round)") }
            began = ContinuousClock.now
            try await withRollupPass(server) {
                try await gated(server, token, "coffer/metrics/points", .write) { grant in
                    for points in prepared { _ = try await server.metrics.ingest(grant, points) }
                }
            }
            moduleBest = max(moduleBest, Double(batches * 1000) / seconds(ContinuousClock.now - began))
            try await drainRollups(server)
            drainedBest = max(drainedBest, Double(batches * 1000) / seconds(ContinuousClock.now - began))
            began = ContinuousClock.now
            let total = batches * 1000
            if label == "sqlite" {
                let path = String(url.dropFirst("sqlite:".count))
                try RawPoints.sqlite(
                    path: path, series: 10 * (round + 1), start: start + Int64(round) * 1_000_000, count: total, batch: 1000)
            } else {
                try RawPoints.postgres(
                    url: url, series: 10 * (round + 1), start: start + Int64(round) * 1_000_000, count: total, batch: 1000)
            }
            rawBest = max(rawBest, Double(total) / seconds(ContinuousClock.now - began))
        }
        print(
            String(
                format:
                    """
                    metric ingest, batches of 1,000 (10 series), rollups current at query time (the pass alongside): metric store \
                    %.0f points/s; raw C API, same rows, same run: %.0f points/s: %.0f%% of raw
                    """,
                moduleBest, rawBest, moduleBest / rawBest * 100))
        print(
            String(
                format: "  until the rollup pass has merged every point: %.0f points/s (%.0f%% of raw)", drainedBest,
                drainedBest / rawBest * 100))
        print(
            String(
                format: "  through the Gate, one audited request per batch: %.0f points/s (%.0f%% of raw; "
                    + "the audit entries are two more commits per batch)",
                gatedBest, gatedBest / rawBest * 100))
    }

    /// Runs `body` with the rollup pass every 500 ms beside it, as the server's MetricRoller runs it.
    private func withRollupPass(_ server: CofferServer, _ body: () async throws -> Void) async throws {
        let pass = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                while !Task.isCancelled, try await server.metrics.rollUpPending().points > 0 {}
            }
        }
        defer { pass.cancel() }
        try await body()
        pass.cancel()
        _ = await pass.result
    }

    private func drainRollups(_ server: CofferServer) async throws {
        while try await server.metrics.rollUpPending().points > 0 {}
    }

    private func longQuery(_ server: CofferServer, token: String) async throws {
        // 4 series, one point every ~1.04 s each over the last 30 days: `points` points.
        let series = 4
        let span: Int64 = 30 * 86_400
        let perSeries = points / series
        let now = Int64(Date().timeIntervalSince1970) - 60
        let began = ContinuousClock.now
        var written = 0
        var chunk: [MetricPoint] = []
        chunk.reserveCapacity(1000)
        for index in 0..<perSeries {
            let time = now - span + Int64(Double(index) * Double(span) / Double(perSeries))
            for instance in 0..<series {
                chunk.append(
                    MetricPoint(
                        name: "bench_latency_seconds", labels: ["instance": "i\(instance)"],
                        value: 0.001 * Double((index * 7 + instance * 13) % 1000 + 1), timestamp: Date(timeIntervalSince1970: Double(time)))
                )
            }
            if chunk.count >= 1000 || index == perSeries - 1 {
                let points = chunk
                written += try await gated(server, token, "coffer/metrics/points", .write) { grant in
                    try await server.metrics.ingest(grant, points).stored
                }
                chunk.removeAll(keepingCapacity: true)
            }
        }
        try await drainRollups(server)
        print(
            String(
                format: "loaded %d points over 30 days (4 series) in %.0f s, rollups merged", written, seconds(ContinuousClock.now - began))
        )
        var latencies: [Double] = []
        var last: [MetricSeriesResult] = []
        for _ in 0..<20 {
            let query = MetricQuery(
                name: "bench_latency_seconds", from: Date(timeIntervalSince1970: Double(now - span)),
                to: Date(timeIntervalSince1970: Double(now)),
                step: 86_400, function: .p99)
            let started = ContinuousClock.now
            last = try await gated(server, token, "coffer/metrics/query", .read) { grant in try await server.metrics.query(grant, query) }
            latencies.append(seconds(ContinuousClock.now - started) * 1000)
        }
        latencies.sort()
        print(
            String(
                format:
                    """
                    30-day p99 per day over %d points (hour rollups, %@), through the Gate: p50 %.1f ms, max of 20 %.1f ms; p99 = \
                    %.3f s (true: 0.990 s)
                    """,
                written, last.first?.source ?? "?", latencies[latencies.count / 2], latencies.last ?? 0, last.first?.points.first?.1 ?? .nan
            ))
    }

    private func errorEvents(_ server: CofferServer, token: String) async throws {
        let began = ContinuousClock.now
        var stored = 0
        for first in stride(from: 0, to: events, by: 100) {
            let batch = (first..<min(first + 100, events)).map { index in
                let kind = index % 50
                return ErrorEvent(
                    component: "svc-\(kind % 5)", severity: .error, message: "failure \(index) in step \(kind)",
                    errorType: "BenchError\(kind)",
                    stackTrace:
                        """
                        Traceback (most recent call last):\n  File \"/srv/app/mod\(kind).py\", line \(index % 90), in run\n    \
                        step()\nBenchError\(kind): failure
                        """,
                    release: "1.0.\(index % 3)", host: "bench")
            }
            stored += try await gated(server, token, "coffer/errors/events", .write) { grant in
                try await server.errors.log(grant, batch).count
            }
        }
        let elapsed = seconds(ContinuousClock.now - began)
        let issues = try await gated(server, token, "coffer/errors/issues", .read) { grant in
            try await server.errors.issues(grant, limit: 1000).count
        }
        print(
            String(
                format: "error events, batches of 100, grouped by fingerprint, through the Gate: %.0f events/s (%d events into %d issues)",
                Double(stored) / elapsed, stored, issues))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
