import CofferFoundation
import CofferFeatures
import CofferAccess
import CofferCache
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The feature cache through `/v1/coffer/features/…` on SQLite and a real PostgreSQL: typed values refused
/// whole on a bad row, latest reads answering present, missing or expired, as-of reads that never see the
/// future, histories, statistics, pruning, and the reader and writer policies.
struct FeatureCacheTests {
    @Test(arguments: TestDatabase.backends)
    func features(_ backend: TestBackend) async throws {
        let time = ManualTime()
        try await withUnsealedServer(backend, time: time) { try await featureContract($0, $1, time) }
    }

    /// `time` is the server's clock: write times differ because the test moves it, not because it sleeps.
    func featureContract(_ server: CofferServer, _ root: String, _ time: ManualTime) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            let tokens = try await SuiteTokens.make(client, root: root, module: "features")
            let writer = tokens.writer.token, reader = tokens.reader.token
            #expect(try await client.call("/v1/coffer/features/sets/prices", .put, token: reader, ["value_type": "number"]).0 == .forbidden)
            #expect(
                try await client.call(
                    "/v1/coffer/features/sets/prices", .put, token: writer,
                    ["value_type": "number", "ttl": "1h", "features": ["price", "volume"]]
                ).0 == .noContent)
            #expect(
                try await client.call("/v1/coffer/features/sets/signals", .put, token: writer, ["value_type": "json", "ttl": -5]).0
                    == .badRequest)
            #expect(try await client.call("/v1/coffer/features/sets/signals", .put, token: writer, ["value_type": "json"]).0 == .noContent)

            let now = time.now.timeIntervalSince1970.rounded(.down)
            let (written, writtenBody) = try await client.answer(
                Features.Written.self, "/v1/coffer/features/values/prices", token: writer,
                [
                    "rows": [
                        ["entity": "BTC", "feature": "price", "value": 100.5, "event_time": now - 3000],
                        ["entity": "BTC", "feature": "price", "value": 101.5, "event_time": now - 60],
                        ["entity": "BTC", "feature": "volume", "value": NSNull(), "event_time": now - 60],
                        ["entity": "ETH", "feature": "price", "value": 7, "event_time": now - 7200]
                    ]
                ])
            #expect(written == .ok && writtenBody.data?.written == 4, "\(writtenBody)")
            // One bad row refuses the batch, naming the row; nothing of it is written.
            let (bad, badBody) = try await client.call(
                "/v1/coffer/features/values/prices", token: writer,
                [
                    "rows": [
                        ["entity": "SOL", "feature": "price", "value": 1], ["entity": "SOL", "feature": "price", "value": "high"]
                    ]
                ])
            #expect(bad == .badRequest && "\(badBody)".contains("rows[1]") && "\(badBody)".contains("number"), "\(badBody)")
            #expect(
                try await client.call(
                    "/v1/coffer/features/values/prices", token: writer, ["rows": [["entity": "SOL", "feature": "mood", "value": 1]]]
                ).0 == .badRequest)
            #expect(
                try await client.call(
                    "/v1/coffer/features/values/prices", token: writer,
                    ["rows": [["entity": "SOL", "feature": "price", "value": 1, "event_time": now + 86_400]]]
                ).0 == .badRequest)
            #expect(
                try await client.call(
                    "/v1/coffer/features/values/nope", token: writer, ["rows": [["entity": "SOL", "feature": "price", "value": 1]]]
                ).0 == .notFound)

            // Latest for many entities at once: present, missing, expired (ETH's price is 2 h old, TTL 1 h).
            let entities = try await client.features(reader, "/v1/coffer/features/read/prices", ["entities": ["BTC", "ETH", "SOL"]])
            #expect(entities["BTC"]?["price"]?.status == "present" && entities["BTC"]?["price"]?.value.double == 101.5)
            #expect(entities["BTC"]?["volume"]?.status == "present" && entities["BTC"]?["volume"]?.value == .null)
            #expect(entities["ETH"]?["price"]?.status == "expired" && entities["ETH"]?["volume"]?.status == "missing")
            #expect(entities["SOL"]?["price"]?.status == "missing")

            // As of a past time: only values true and written by then. The BTC value written just now for
            // an event 50 min ago is unknown as of 30 s ago, whatever its event time.
            let asOf = try await client.features(
                reader, "/v1/coffer/features/values/prices?entities=BTC&features=price&as_of=\(Int(now) - 1000)", method: .get)
            #expect(asOf["BTC"]?["price"]?.status == "missing", "\(asOf)")
            time.advance(by: 0.02)
            let beforeCorrection = time.now.timeIntervalSince1970
            time.advance(by: 0.02)
            _ = try await client.call(
                "/v1/coffer/features/values/prices", token: writer,
                ["rows": [["entity": "BTC", "feature": "price", "value": 99.0, "event_time": now - 30]]])
            let before = try await client.features(
                reader, "/v1/coffer/features/read/prices", ["entities": ["BTC"], "features": ["price"], "as_of": beforeCorrection])
            #expect(before["BTC"]?["price"]?.value.double == 101.5)
            let latest = try await client.features(reader, "/v1/coffer/features/read/prices", ["entities": ["BTC"], "features": ["price"]])
            #expect(latest["BTC"]?["price"]?.value.double == 99.0)

            // History over a range, oldest first.
            let (_, history) = try await client.answer(
                Features.History.self, "/v1/coffer/features/history/prices/BTC/price?from=\(Int(now) - 4000)&to=\(Int(now))", .get,
                token: reader)
            #expect(history.data?.points.map(\.value.double) == [100.5, 101.5, 99.0], "\(history)")

            // JSON values in a json set.
            #expect(
                try await client.call(
                    "/v1/coffer/features/values/signals", token: writer,
                    ["rows": [["entity": "BTC", "feature": "trend", "value": ["dir": "up", "score": 3]]]]
                ).0 == .ok)
            let signal = try await client.features(reader, "/v1/coffer/features/read/signals", ["entities": "BTC"])
            #expect(signal["BTC"]?["trend"]?.value == .object(["dir": .string("up"), "score": .integer(3)]))

            // Statistics: count, nulls, min, max, mean, and the read counters (including reads not yet flushed).
            let (_, stats) = try await client.answer(Features.Statistics.self, "/v1/coffer/features/stats/prices", .get, token: reader)
            let data = try #require(stats.data, "\(stats)")
            let price = try #require(data.features.first { $0.feature == "price" })
            #expect(price.count == 4 && price.min.double == 7 && price.max.double == 101.5, "\(price)")
            let volume = try #require(data.features.first { $0.feature == "volume" })
            #expect(volume.nulls == 1 && volume.mean == .null)
            #expect(data.hits == 4 && data.misses == 4 && data.expired == 1, "\(data)")
            try await server.features.flushCounters()
            let (_, flushed) = try await client.answer(Features.Statistics.self, "/v1/coffer/features/stats/prices", .get, token: reader)
            #expect(flushed.data?.hits == 4)

            // Pruning by age; the reader may not.
            #expect(
                try await client.call("/v1/coffer/features/prune", token: reader, ["set": "prices", "older_than": "1h"]).0 == .forbidden)
            let (_, pruned) = try await client.answer(
                Removed.self, "/v1/coffer/features/prune", token: writer, ["set": "prices", "older_than": "1h"])
            #expect(pruned.data?.removed == 1, "\(pruned)")
            let pruneEntries = try await server.auditEntries("coffer/features/prune")
            #expect(pruneEntries.contains { $0.accessor == tokens.writer.accessor && $0.decision == "allow" && $0.status == 200 })
            #expect(pruneEntries.contains { $0.decision == "deny" && $0.kind == .response && $0.status == 403 })
            #expect(
                try await server.auditEntries("coffer/features/read/prices").contains {
                    $0.accessor == tokens.reader.accessor && $0.operation == "read"
                })
        }
    }
}
