import ArgumentParser
import CofferAccess
import CofferCache
import CofferCrypto
import CofferEngines
import CofferFeatures
import CofferFoundation
import CofferModels
import CofferServer
import CofferStore
import Foundation
import Logging

/// `coffer-bench suite1`: the persistence suite's part 1 on SQLite and PostgreSQL, through the Gate —
/// model versions registered per second with a 1 MiB artifact (Swift API and HTTP), a feature batch read
/// of 100 entities (p50/p99), and cache gets (hit rate and ops/s in memory and over HTTP) next to a raw
/// dictionary lookup and the health endpoint in the same run.
struct SuiteBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite1",
        abstract:
            """
            Model registration/s (1 MiB), feature batch reads of 100 entities, cache gets vs a dictionary and health; SQLite and \
            PostgreSQL.
            """
    )

    @Option(help: "Seconds per HTTP measurement.") var seconds = 5
    @Option(help: "In-process registrations.") var registrations = 40
    @Option(help: "In-process feature batch reads.") var reads = 400
    @Option(help: "In-process cache gets.") var gets = 200_000

    func run() async throws {
        var logger = Logger(label: "coffer.bench")
        logger.logLevel = .critical
        print(machineDescription())
        print("wrk, 1 thread, \(seconds) s per HTTP measurement; in-process calls go through the Gate's Swift API with a service token")
        try await forEachBackend(target: "bench-suite1") { url, label in
            // A memory tier that holds about a third of the cache's 10,000 entries, so the hit rate means something.
            let (server, root) = try await unsealedServer(url: url, label: label, logger: logger, cacheMemory: 1 << 20)
            defer { try? FileManager.default.removeItem(atPath: server.models.blobs.root) }
            try await writePolicy(
                server, root: root, "bench-suite",
                text: """
                    path "coffer/models/*" { capabilities = ["create", "read", "update", "delete", "list"] }
                    path "coffer/features/*" { capabilities = ["create", "read", "update", "delete", "list"] }
                    path "coffer/cache/*" { capabilities = ["create", "read", "update", "delete", "list"] }
                    """)
            let token = try await serviceToken(server, root: root, policy: "bench-suite")
            print("")
            print("== \(label)")
            // In-process first: serving ends with a graceful shutdown, which closes the database.
            let artifact = try await models(server, token: token)
            let readBody = try await features(server, token: token)
            try await cache(server, token: token)
            defer {
                try? FileManager.default.removeItem(atPath: artifact)
                try? FileManager.default.removeItem(atPath: readBody)
            }
            try await withServing(server, logger: logger) { port in
                try await overHTTP(port: port, token: token, artifact: artifact, readBody: readBody)
            }
        }
    }

    /// - Returns: a file holding the artifact, for the HTTP measurement.
    private func models(_ server: CofferServer, token: String) async throws -> String {
        let artifact = Random.bytes(1 << 20)
        let started = ContinuousClock.now
        for index in 0..<registrations {
            var bytes = artifact
            bytes[0] = UInt8(truncatingIfNeeded: index) // a new blob each time: hashed, written, fsync'd, renamed
            _ = try await gated(server, token, "coffer/models/bench/versions", .write) { grant in
                let upload = try server.models.blobs.upload()
                for offset in stride(from: 0, to: bytes.count, by: 64 * 1024) {
                    try bytes[offset..<min(offset + 64 * 1024, bytes.count)].withUnsafeBytes { try upload.write($0) }
                }
                return try await server.models.register(grant, model: "bench", ModelVersionDraft(), artifact: try upload.finish()).0.version
            }
        }
        let elapsed = seconds(ContinuousClock.now - started)
        print(
            String(
                format: "model registration, 1 MiB artifact, Swift API: %.1f versions/s (%.1f MiB/s), %d versions",
                Double(registrations) / elapsed,
                Double(registrations) / elapsed, registrations))
        let body = NSTemporaryDirectory() + "coffer-bench-artifact-\(UUID().uuidString)"
        try Data(artifact).write(to: URL(fileURLWithPath: body))
        return body
    }

    /// - Returns: a file holding a read request's body, for the HTTP measurement.
    private func features(_ server: CofferServer, token: String) async throws -> String {
        let entities = (0..<1000).map { "E\($0)" }
        let now = Date()
        try await gated(server, token, "coffer/features/sets/prices", .write) { grant in
            try await server.features.define(
                grant, FeatureSet(name: "prices", valueType: .number, ttl: 3600, features: ["price", "volume"]))
            for step in 0..<10 {
                let rows = entities.flatMap { entity in
                    ["price", "volume"].map {
                        FeatureWrite(
                            entity: entity, feature: $0, value: .number(Double.random(in: 1...100)),
                            eventTime: now.addingTimeInterval(Double(step - 10) * 60))
                    }
                }
                try await server.features.put(grant, set: "prices", rows)
            }
        }
        var latencies: [Double] = [], moduleLatencies: [Double] = []
        for _ in 0..<reads {
            let batch = Array(entities.shuffled().prefix(100))
            let started = ContinuousClock.now
            _ = try await gated(server, token, "coffer/features/read/prices", .read) { grant in
                let inner = ContinuousClock.now
                let count = try await server.features.latest(grant, set: "prices", entities: batch).count
                moduleLatencies.append(seconds(ContinuousClock.now - inner) * 1000)
                return count
            }
            latencies.append(seconds(ContinuousClock.now - started) * 1000)
        }
        latencies.sort()
        moduleLatencies.sort()
        print(
            String(
                format:
                    """
                    feature batch read, 100 entities × 2 features of 1,000 (20,000 values), Swift API through the Gate: p50 %.2f \
                    ms, p99 %.2f ms (the read alone: p50 %.2f ms, p99 %.2f ms)
                    """,
                latencies[latencies.count / 2], latencies[latencies.count * 99 / 100], moduleLatencies[moduleLatencies.count / 2],
                moduleLatencies[moduleLatencies.count * 99 / 100]))
        let body = NSTemporaryDirectory() + "coffer-bench-read-\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: ["entities": Array(entities.prefix(100))]).write(to: URL(fileURLWithPath: body))
        return body
    }

    private func cache(_ server: CofferServer, token: String) async throws {
        let keys = (0..<10_000).map { "key-\($0)" }
        let value = [UInt8](repeating: 0x61, count: 256)
        try await gated(server, token, "coffer/cache/entries/bench", .write) { grant in
            for key in keys { _ = try await server.cache.put(grant, CacheKey(namespace: "bench", key: key), value) }
        }
        // A fresh instance with an empty memory tier of 1 MiB (about 3,300 of the 10,000 entries), read with
        // Zipf(0.99)-distributed keys, as real caches are.
        let cache = PersistentCache(database: server.database, settings: CacheSettings(memoryBytes: 1 << 20), logger: server.logger)
        let sequence = Zipf(count: keys.count, exponent: 0.99).sample(gets)
        var fromMemory = 0
        let started = ContinuousClock.now
        try await gated(server, token, "coffer/cache/entries/bench", .read) { grant in
            for index in sequence where try await cache.get(grant, CacheKey(namespace: "bench", key: keys[index]))?.source == .memory {
                fromMemory += 1
            }
        }
        let cacheSeconds = seconds(ContinuousClock.now - started)
        var dictionary: [String: [UInt8]] = [:]
        for key in keys { dictionary[key] = value }
        var found = 0
        let dictionaryStarted = ContinuousClock.now
        for index in sequence where dictionary[keys[index]] != nil { found += 1 }
        let dictionarySeconds = max(seconds(ContinuousClock.now - dictionaryStarted), 1e-9)
        print(
            String(
                format:
                    """
                    cache get, Zipf(0.99) over 10,000 keys, memory tier 1 MiB, Swift API: %.0f gets/s, memory hit rate %.1f%% (%d \
                    table loads); raw dictionary lookup %.0f/s
                    """,
                Double(gets) / cacheSeconds, Double(fromMemory) / Double(gets) * 100, cache.loads, Double(found) / dictionarySeconds))
    }

    private func overHTTP(port: Int, token: String, artifact: String, readBody: String) async throws {
        let metadata = Data(#"{"model_type":"bench"}"#.utf8).base64EncodedString()
        let registration = try await Wrk.run(
            "http://127.0.0.1:\(port)/v1/coffer/models/bench-http/versions", token: token, connections: 1, seconds: seconds,
            method: "POST", bodyFile: artifact, headers: ["X-Coffer-Model": metadata, "Content-Type": "application/octet-stream"])
        print(
            String(
                format: "model registration, 1 MiB artifact, HTTP (1 conn): %.1f versions/s, p50 %.2f ms, p99 %.2f ms",
                registration.rate, registration.p50, registration.p99))
        for connections in [1, 8] {
            let result = try await Wrk.run(
                "http://127.0.0.1:\(port)/v1/coffer/features/read/prices", token: token, connections: connections,
                seconds: seconds, method: "POST", bodyFile: readBody, headers: ["Content-Type": "application/json"])
            print(
                String(
                    format: "feature batch read, 100 entities, HTTP (%d conn): %.0f reads/s, p50 %.2f ms, p99 %.2f ms", connections,
                    result.rate, result.p50, result.p99))
        }
        for connections in [1, 8] {
            let health = try await Wrk.run("http://127.0.0.1:\(port)/v1/sys/health", token: "", connections: connections, seconds: seconds)
            let get = try await Wrk.run(
                "http://127.0.0.1:\(port)/v1/coffer/cache/entries/bench/key-1", token: token, connections: connections, seconds: seconds)
            print(
                String(
                    format:
                        """
                        cache get over HTTP (%d conn): %.0f gets/s, p50 %.2f ms, p99 %.2f ms; health %.0f/s, p50 %.2f ms, p99 \
                        %.2f ms (%.0f%% of health)
                        """,
                    connections, get.rate, get.p50, get.p99, health.rate, health.p50, health.p99, get.rate / health.rate * 100))
        }
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Zipf-distributed indices (rank 0 most frequent), by inverting the cumulative distribution.
struct Zipf {
    let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var total = 0.0
        var cumulative: [Double] = []
        for rank in 1...count {
            total += 1 / pow(Double(rank), exponent)
            cumulative.append(total)
        }
        self.cumulative = cumulative.map { $0 / total }
    }

    func sample(_ n: Int) -> [Int] {
        (0..<n).map { _ in
            let u = Double.random(in: 0..<1)
            var low = 0, high = cumulative.count - 1
            while low < high {
                let mid = (low + high) / 2
                if cumulative[mid] < u { low = mid + 1 } else { high = mid }
            }
            return low
        }
    }
}
