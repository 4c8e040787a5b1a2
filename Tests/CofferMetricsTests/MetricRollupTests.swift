import CofferAccess
import CofferFoundation
import CofferMetrics
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import PropertyBased
import Testing

/// Rollups merged by a background pass, not by ingest: a query answers as if they were current whatever the
/// pass has merged so far, and a pass merges each ingest exactly once, on both backends.
struct MetricRollupTests {
    /// Points over two hours of two series, ingested in random batches with passes of random sizes (or none)
    /// between them: every aggregate at minute and hour steps equals the one computed here from the points,
    /// before the pass has drained the queue and after (percentiles too: the same sketch either way).
    @Test(arguments: TestDatabase.backends)
    func queriesAnswerAsIfRollupsWereCurrent(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            let fixture = Fixture(server: server, root: root)
            let runs = Locked(0)
            await propertyCheck(
                count: 25, input: Gen<Int>.int(in: 0...7199).array(of: 1...120), Gen<Int>.int(in: 0...3).array(of: 1...8),
                Gen<Int>.int(in: 1...6)
            ) { offsets, passes, batchCount in
                let run = runs.withLock { run in
                    run += 1
                    return run
                }
                let name = "rollup_property_\(run)"
                var seen = Set<Int>()
                let unique = offsets.filter { seen.insert($0).inserted }
                let points = unique.map { offset in
                    MetricPoint(
                        name: name, labels: ["room": offset % 2 == 0 ? "a" : "b"], value: Double((offset * 7919) % 101 - 50),
                        timestamp: fixture.base.addingTimeInterval(Double(offset)))
                }
                let size = (points.count + batchCount - 1) / batchCount
                for (index, start) in stride(from: 0, to: points.count, by: size).enumerated() {
                    let batch = Array(points[start..<min(start + size, points.count)])
                    #expect(try await fixture.ingest(batch) == batch.count)
                    let limit = passes[index % passes.count]
                    if limit > 0 { _ = try await server.metrics.rollUpPending(limit: limit) }
                }
                var before: [String: [Double]] = [:]
                for step: Int64 in [60, 3600] {
                    for function: MetricFunction in [.count, .sum, .min, .max, .avg, .p50, .p99] {
                        let answer = try await fixture.query(name, step: step, function)
                        before["\(step) \(function)"] = answer.map(\.1)
                        let expected = Self.expected(points, base: fixture.base, step: step, function)
                        if let expected {
                            #expect(answer.map(\.0) == expected.map(\.0), "\(step) \(function): the buckets")
                            #expect(answer.map(\.1) == expected.map(\.1), "\(step) \(function)")
                        }
                    }
                }
                while try await server.metrics.rollUpPending(limit: 3).points > 0 {}
                for step: Int64 in [60, 3600] {
                    for function: MetricFunction in [.count, .sum, .min, .max, .avg, .p50, .p99] {
                        let answer = try await fixture.query(name, step: step, function)
                        #expect(answer.map(\.1) == before["\(step) \(function)"], "\(step) \(function): after the pass as before it")
                    }
                }
            }
        }
    }

    /// A query that runs while the pass moves points from pending to rollups counts every point once: it reads
    /// both in one snapshot (two plain reads would count a merged batch twice, or not at all).
    @Test(arguments: TestDatabase.backends)
    func aQueryDuringThePassCountsEachPointOnce(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            let fixture = Fixture(server: server, root: root)
            let name = "rollup_concurrent"
            var total = 0
            for batch in 0..<60 {
                let points = (0..<50).map { index in
                    MetricPoint(
                        name: name, value: 1, timestamp: fixture.base.addingTimeInterval(Double(batch * 50 + index) + 0.5))
                }
                total += try await fixture.ingest(points)
            }
            let expected = Double(total)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while try await server.metrics.rollUpPending(limit: 1).points > 0 {}
                }
                group.addTask {
                    for _ in 0..<40 {
                        let counted = try await fixture.query(name, step: 3600 * 2, .count).map(\.1).reduce(0, +)
                        #expect(counted == expected)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await server.metrics.rollUpPending().points == 0, "the pass drained the queue")
            #expect(try await fixture.query(name, step: 7200, .count).map(\.1) == [expected])
        }
    }

    /// A pending row a database writer cut short is dropped by the pass (and counted), not read past; the
    /// query leaves it out the same way, and the other rows still merge.
    @Test(arguments: TestDatabase.backends)
    func aMalformedPendingRowIsDroppedNotReadPast(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            let fixture = Fixture(server: server, root: root)
            let name = "rollup_malformed"
            let first = [MetricPoint(name: name, value: 4, timestamp: fixture.base.addingTimeInterval(10))]
            let second = [MetricPoint(name: name, value: 6, timestamp: fixture.base.addingTimeInterval(20))]
            #expect(try await fixture.ingest(first) == 1)
            // Cut the first ingest's row: its blob loses its last byte.
            try await server.database.transaction { conn in
                let id = try #require(try conn.queryScalar(Int64.self, "SELECT min(id) FROM metric_pending"))
                let blob = try #require(try conn.queryScalar([UInt8].self, "SELECT points FROM metric_pending WHERE id = \(id)"))
                let cut = Array(blob.dropLast())
                try conn.execute("UPDATE metric_pending SET points = \(cut) WHERE id = \(id)")
            }
            #expect(try await fixture.ingest(second) == 1)
            #expect(try await fixture.query(name, step: 60, .sum).map(\.1) == [6], "the cut row is left out")
            var malformed = 0
            while true {
                let pass = try await server.metrics.rollUpPending(limit: 1)
                malformed += pass.malformed
                if pass.points == 0 && pass.malformed == 0 { break }
            }
            #expect(malformed == 1)
            #expect(try await fixture.query(name, step: 60, .sum).map(\.1) == [6])
        }
    }

    /// What a reference answer from the points says, per step start in time order; nil for a function it
    /// does not compute (the percentiles, which are the sketch's).
    static func expected(_ points: [MetricPoint], base: Date, step: Int64, _ function: MetricFunction) -> [(Date, Double)]? {
        guard [.count, .sum, .min, .max, .avg].contains(function) else { return nil }
        var steps: [Date: [Double]] = [:]
        for point in points {
            let offset = Int64(point.timestamp!.timeIntervalSince(base))
            steps[base.addingTimeInterval(Double(offset - offset % step)), default: []].append(point.value)
        }
        return steps.keys.sorted().map { start in
            let values = steps[start]!
            let sum = values.reduce(0, +)
            return switch function {
            case .count: (start, Double(values.count))
            case .sum: (start, sum)
            case .min: (start, values.min()!)
            case .max: (start, values.max()!)
            default: (start, sum / Double(values.count))
            }
        }
    }

    struct Fixture: Sendable {
        let server: CofferServer
        let root: String
        /// Two hours ago, on the hour: a whole two-hour window that is entirely past.
        let base = Date(timeIntervalSince1970: (floor(Date().timeIntervalSince1970 / 7200) - 2) * 7200)

        func ingest(_ points: [MetricPoint]) async throws -> Int {
            try await perform("coffer/metrics/points", .write) { grant in try await server.metrics.ingest(grant, points).stored }
        }

        func query(_ name: String, step: Int64, _ function: MetricFunction) async throws -> [(Date, Double)] {
            let query = MetricQuery(name: name, from: base, to: base.addingTimeInterval(7200), step: step, function: function)
            let result = try await perform("coffer/metrics/query", .read) { grant in try await server.metrics.query(grant, query) }
            return result.flatMap(\.points).sorted { $0.0 < $1.0 }
        }

        private func perform<T: Sendable>(_ path: CanonicalPath, _ operation: GateRequest.Operation, _ body: (Grant) async throws -> T)
            async throws -> T
        {
            try await server.gate.perform(
                GateRequest(token: root, path: path, operation: operation, requestID: "t", remoteAddress: "test"), status: { _ in 200 },
                body)
        }
    }
}
