import CofferAccess
import CofferMetrics
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// System metrics through `/v1/coffer/metrics/…` on SQLite and a real PostgreSQL, against hand-computed
/// answers: aggregates from raw points and from rollups, rate across a counter reset, percentiles within
/// the sketch's 1%, grouping, the series cap, batches refused whole, Prometheus text input, retention that
/// keeps rollups, and the reader and writer policies.
struct MetricStoreTests {
    /// `rolled`: the background rollup pass has merged every ingest before the queries (else they merge it themselves).
    @Test(arguments: TestDatabase.backends, [false, true])
    func metrics(_ backend: TestBackend, rolled: Bool) async throws {
        try await withUnsealedServer(backend) { server, root in try await metricContract(server, root, rolled: rolled) }
    }

    func metricContract(_ server: CofferServer, _ root: String, rolled: Bool) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            let tokens = try await SuiteTokens.make(client, root: root, module: "metrics")
            let writer = tokens.writer.token, reader = tokens.reader.token
            let base = (floor(Date().timeIntervalSince1970 / 3600) - 2) * 3600
            func point(_ name: String, _ labels: [String: String], _ offset: Double, _ value: Any) -> [String: Any] {
                ["name": name, "labels": labels, "value": value, "timestamp": base + offset]
            }
            func ingest(_ points: [[String: Any]], token: String? = nil) async throws -> (
                HTTPResponse.Status, VaultAnswer<Metrics.Ingested>
            ) {
                try await client.answer(Metrics.Ingested.self, "/v1/coffer/metrics/points", token: token ?? writer, ["points": points])
            }
            func query(_ parameters: String) async throws -> (HTTPResponse.Status, [Metrics.Series]) {
                let (status, body) = try await client.answer(
                    Metrics.Query.self, "/v1/coffer/metrics/query?\(parameters)", .get, token: reader)
                return (status, body.data?.result ?? [])
            }
            func values(_ result: Metrics.Series?) -> [Double] { result?.numbers ?? [] }

            // A counter with a reset, in two batches (the rollup merges them); two gauges.
            let counter = [0.0, 5, 10, 2, 7, 12].enumerated().map {
                point("http_requests_total", ["method": "GET"], Double($0.offset) * 10, $0.element)
            }
            #expect(try await ingest(Array(counter.prefix(3))).0 == .ok)
            let (second, secondBody) = try await ingest(Array(counter.suffix(3)) + [counter[0]])
            #expect(second == .ok && secondBody.data?.duplicates == 1, "\(secondBody)")
            var gauges: [[String: Any]] = []
            for (room, scale) in [("a", 1.0), ("b", 10.0)] {
                gauges += (1...6).map { point("temperature", ["room": room], Double($0 - 1) * 10, Double($0) * scale) }
            }
            #expect(try await ingest(gauges).0 == .ok)
            if rolled { while try await server.metrics.rollUpPending(limit: 1).points > 0 {} }

            // Bad points refuse the batch, naming the point; nothing of it is stored.
            let (nan, nanBody) = try await ingest([
                point("temperature", ["room": "c"], 5, 1), point("temperature", ["room": "c"], 15, "NaN")
            ])
            let nanError = (nanBody.errors ?? []).joined()
            #expect(nan == .badRequest && nanError.contains("points[1]") && nanError.contains("nan"), "\(nanBody)")
            #expect(try await ingest([point("9lives", [:], 0, 1)]).0 == .badRequest)
            #expect(try await ingest([point("temperature", ["__name": "x"], 0, 1)]).0 == .badRequest)
            #expect(
                try await ingest([["name": "temperature", "value": 1, "timestamp": Date().timeIntervalSince1970 + 86_400]]).0 == .badRequest
            )
            #expect(try await ingest([point("temperature", ["room": "a"], 0, 1)], token: reader).0 == .forbidden)
            #expect(try await server.auditEntries("coffer/metrics/points").contains { $0.decision == "deny" && $0.status == 403 })
            let (_, series) = try await client.answer(
                Metrics.Listed.self, "/v1/coffer/metrics/series?name=temperature", .get, token: reader)
            #expect(series.data?.series.map { $0.labels["room"] } == ["a", "b"], "room=c was not created: \(series)")

            // From rollups (a step of 60): every aggregate, hand-computed.
            let window = "from=\(Int(base))&to=\(Int(base) + 60)&step=60"
            let (_, avg) = try await query("name=temperature&fn=avg&\(window)")
            #expect(values(avg.first) == [19.25] && avg.first?.source == "1m", "\(avg)")
            #expect(values(try await query("name=temperature&fn=sum&\(window)").1.first) == [231])
            #expect(values(try await query("name=temperature&fn=min&\(window)").1.first) == [1])
            #expect(values(try await query("name=temperature&fn=max&\(window)").1.first) == [60])
            #expect(values(try await query("name=temperature&fn=count&\(window)").1.first) == [12])
            let (_, byRoom) = try await query("name=temperature&fn=avg&by=room&\(window)")
            #expect(byRoom.map { $0.labels["room"] ?? "" } == ["a", "b"] && byRoom.map(\.numbers) == [[3.5], [35]], "\(byRoom)")
            let p50 = try #require(values(try await query("name=temperature&fn=p50&match=room=b&\(window)").1.first).first)
            #expect(abs(p50 - 30) <= 0.3, "\(p50)")
            let p99 = try #require(values(try await query("name=temperature&fn=p99&match=room=b&\(window)").1.first).first)
            #expect(abs(p99 - 60) <= 0.6, "\(p99)")
            // Rate: rises 5 + 5, the reset counts its new value 2, then 5 + 5: 22 over 60 s.
            let rate = try #require(values(try await query("name=http_requests_total&fn=rate&\(window)").1.first).first)
            #expect(abs(rate - 22.0 / 60) < 1e-9, "\(rate)")
            // From raw points (a step of 30): two steps each.
            let (_, raw) = try await query("name=temperature&fn=avg&match=room=a&from=\(Int(base))&to=\(Int(base) + 60)&step=30")
            #expect(values(raw.first) == [2, 5] && raw.first?.source == "raw", "\(raw)")
            let rawRate = values(try await query("name=http_requests_total&fn=rate&from=\(Int(base))&to=\(Int(base) + 60)&step=30").1.first)
            #expect(rawRate.count == 2 && abs(rawRate[0] - 10.0 / 30) < 1e-9 && abs(rawRate[1] - 10.0 / 30) < 1e-9, "\(rawRate)")
            #expect(try await query("name=nothing_here&fn=avg&\(window)").0 == .notFound)
            #expect(try await query("name=temperature&fn=median&\(window)").0 == .badRequest)

            // Prometheus text exposition as input.
            let text =
                """
                # TYPE jobs_total counter\njobs_total{queue=\"mail\",state=\"done\"} 3 \
                \(Int(base * 1000))\njobs_total{queue=\"mail\",state=\"done\"} 4 \(Int(base * 1000) + 10_000)\n
                """
            let (prom, promBody) = try await client.execute(
                uri: "/v1/coffer/metrics/points", method: .post,
                headers: [vaultToken: writer, .contentType: "text/plain; version=0.0.4"], body: ByteBuffer(string: text)
            ) { response in
                (response.status, try VaultAnswer<Metrics.Ingested>(body: response.body))
            }
            #expect(prom == .ok && promBody.data?.stored == 2, "\(promBody)")
            let (badProm, _) = try await client.execute(
                uri: "/v1/coffer/metrics/points", method: .post, headers: [vaultToken: writer, .contentType: "text/plain"],
                body: ByteBuffer(string: "ok 1\nbroken{a=\"x\" 2\n")
            ) { ($0.status, 0) }
            #expect(badProm == .badRequest)
            // A line without a metric name is refused with its line number (found by the prometheus fuzz target).
            let (namelessProm, namelessBody) = try await client.execute(
                uri: "/v1/coffer/metrics/points", method: .post, headers: [vaultToken: writer, .contentType: "text/plain"],
                body: ByteBuffer(string: "ok 1\n{a=\"x\"} 2\n")
            ) { response in (response.status, try VaultAnswer<UnreadData>(body: response.body)) }
            #expect(
                namelessProm == .badRequest && namelessBody.errors?.first?.hasPrefix("line 2: no metric name") == true,
                "\(namelessBody)")
            // A timestamp no calendar holds (9e18 ms: its microseconds overflow an Int64) is the line's 400, not a trap.
            let (farProm, farBody) = try await client.execute(
                uri: "/v1/coffer/metrics/points", method: .post, headers: [vaultToken: writer, .contentType: "text/plain"],
                body: ByteBuffer(string: "jobs_total 5 9000000000000000000\n")
            ) { response in (response.status, try VaultAnswer<UnreadData>(body: response.body)) }
            #expect(farProm == .badRequest && farBody.errors?.first?.contains("outside the years 1 to 9999") == true, "\(farBody)")
            // A NUL character in a search is the client's 400 on both backends (PostgreSQL's refusal was a 500;
            // found by make fuzz-api).
            let (nulStatus, nul) = try await client.answer(UnreadData.self, "/v1/coffer/metrics/series?name=cpu%00x", .get, token: writer)
            #expect(nulStatus == .badRequest && nul.errors?.first?.contains("NUL character") == true, "\(nul.errors ?? [])")

            // The series cap: past it a new label set is refused with what to do.
            #expect(
                try await client.call("/v1/coffer/metrics/retention/temperature", .put, token: writer, ["max_series": 2]).0 == .noContent)
            let (capped, cappedBody) = try await ingest([point("temperature", ["room": "c"], 0, 1)])
            #expect(capped == .badRequest && "\(cappedBody)".contains("max_series"), "\(cappedBody)")
            #expect(try await ingest([point("temperature", ["room": "a"], 55, 9)]).0 == .ok)

            // Retention: raw points past a day go, the minute rollups (kept 30 days) of the same hours stay.
            let old = base - 3 * 86_400
            #expect(
                try await ingest(
                    (1...6).map {
                        ["name": "disk_used", "labels": ["disk": "sda"], "value": Double($0), "timestamp": old + Double($0 - 1) * 10]
                    }
                ).0 == .ok)
            #expect(
                try await client.call(
                    "/v1/coffer/metrics/retention/disk_used", .put, token: writer, ["raw": "24h", "minute": "720h", "hour": "9600h"]
                ).0 == .noContent)
            #expect(
                try await client.call("/v1/coffer/metrics/retention/disk_used", .put, token: writer, ["raw": "24h", "minute": "1h"]).0
                    == .badRequest)
            let removed = try await server.gate.perform(
                GateRequest(token: root, path: "coffer/metrics/tidy", operation: .delete, requestID: "t", remoteAddress: "test"),
                status: { _ in 200 }
            ) { grant in try await server.metrics.applyRetention(grant) }
            #expect(removed == 6)
            let (_, kept) = try await query("name=disk_used&fn=avg&from=\(Int(old))&to=\(Int(old) + 60)&step=60")
            #expect(values(kept.first) == [3.5], "\(kept)")
            let (gone, goneBody) = try await client.call(
                "/v1/coffer/metrics/query?name=disk_used&fn=avg&from=\(Int(old))&to=\(Int(old) + 60)&step=10", .get, token: reader)
            #expect(gone == .badRequest && "\(goneBody)".contains("not kept"), "\(goneBody)")

            // Coffer's own request counts, in Prometheus' format.
            let exposition = try await client.execute(uri: "/v1/sys/metrics?format=prometheus", method: .get, headers: [vaultToken: root]) {
                String(buffer: $0.body)
            }
            #expect(
                exposition.contains("coffer_http_requests_total{method=\"POST\",route=\"/v1/coffer/metrics/points\",status=\"200\"}"),
                "\(exposition.prefix(600))")
            #expect(try await client.call("/v1/sys/metrics?format=prometheus", .get, token: reader).0 == .forbidden)
            let scraped = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(root)"]) {
                ($0.status, String(buffer: $0.body))
            }
            #expect(scraped.0 == .ok && scraped.1.contains("coffer_http_requests_total"), "Prometheus' default path, with a bearer token")
        }
    }
}
