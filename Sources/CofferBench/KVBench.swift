import ArgumentParser
import CofferAccess
import CofferCrypto
import CofferEngines
import CofferFoundation
import CofferKeys
import CofferServer
import CofferStore
import CofferTesting
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// `coffer-bench kv`: an authenticated, authorised, audited, decrypted read of one 256-byte secret over
/// HTTP (`wrk` on loopback), next to the same server's `sys/health`, at several connection counts, with the
/// service on SQLite and on PostgreSQL.
struct KVBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv",
        abstract: "KV v2 reads/s, p50 and p99 against sys/health on the same server, on SQLite and PostgreSQL."
    )

    @Option(help: "Seconds per measurement.") var seconds = 10
    @Option(help: "Connection counts, comma-separated.") var connections = "1,8,32"

    func run() async throws {
        var logger = Logger(label: "coffer.bench")
        logger.logLevel = .critical
        let counts = connections.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        print(machineDescription())
        print("wrk, 1 thread, \(seconds) s per measurement; the read is GET secret/data/bench/api (256-byte value) with a service token")
        print("")
        print(
            pad("backend", 12) + pad("conns", 7) + pad("health/s", 10) + pad("p50 ms", 8) + pad("p99 ms", 8)
                + pad("read/s", 10) + pad("p50 ms", 8) + pad("p99 ms", 8) + "read/health")
        try await forEachBackend(target: "bench-kv") { url, label in
            try await measure(url: url, label: label, counts: counts, logger: logger)
        }
        print("")
        print("Goal (Docs/BENCHMARKS.md): on SQLite the read keeps at least 50% of health's rate, with p99 under 5 ms at 32 connections.")
    }

    private func measure(url: String, label: String, counts: [Int], logger: Logger) async throws {
        let (server, root) = try await unsealedServer(url: url, label: label, logger: logger)
        // A service token that may read the one secret, as a real client holds.
        try await writePolicy(server, root: root, "bench-reader", text: #"path "secret/data/bench/*" { capabilities = ["read"] }"#)
        let token = try await serviceToken(server, root: root, policy: "bench-reader")
        let value = String(repeating: "s", count: 256)
        var json = try JSONValue.object(["api_key": .string(value)]).encoded()
        let data = SecureHandle(SecureBytes(copying: json))
        json.withUnsafeMutableBytes { Wipe.raw($0) }
        _ = try await server.gate.perform(setupRequest(root: root, path: "secret/data/bench/api", operation: .write), status: { _ in 200 })
        { grant in
            try await server.credentials.write(grant, try SecretPath(mount: "secret", path: "bench/api"), data: data, cas: nil)
        }

        try await withServing(server, logger: logger) { port in
            for count in counts {
                let (entriesBefore, commitsBefore) = (server.gate.audit.committedEntries, server.gate.audit.commits)
                let cpu0 = processCPUSeconds()
                let health = try await Wrk.run("http://127.0.0.1:\(port)/v1/sys/health", token: "", connections: count, seconds: seconds)
                let cpu1 = processCPUSeconds()
                let read = try await Wrk.run(
                    "http://127.0.0.1:\(port)/v1/secret/data/bench/api", token: token, connections: count, seconds: seconds)
                let cpu2 = processCPUSeconds()
                let healthCPU = (cpu1 - cpu0) / (health.rate * Double(seconds)) * 1e6,
                    readCPU = (cpu2 - cpu1) / (read.rate * Double(seconds)) * 1e6
                print(
                    pad(label, 12) + pad(String(count), 7) + pad(String(format: "%.0f", health.rate), 10)
                        + pad(String(format: "%.2f", health.p50), 8)
                        + pad(String(format: "%.2f", health.p99), 8) + pad(String(format: "%.0f", read.rate), 10)
                        + pad(String(format: "%.2f", read.p50), 8)
                        + pad(String(format: "%.2f", read.p99), 8) + String(format: "%.1f%%", read.rate / health.rate * 100)
                        + String(
                            format: "   server CPU per request: health %.0f µs, read %.0f µs; %.1f audit entries per commit", healthCPU,
                            readCPU,
                            Double(server.gate.audit.committedEntries - entriesBefore)
                                / Double(max(1, server.gate.audit.commits - commitsBefore))))
            }
        }
    }

    private func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
}
