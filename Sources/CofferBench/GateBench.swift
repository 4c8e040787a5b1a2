import ArgumentParser
import CofferAccess
import CofferCrypto
import CofferHTTP
import CofferKeys
import CofferServer
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle

/// `coffer-bench gate`: an authorised no-op request through the Gate (token lookup, policy check, durable
/// audit entries) against the same request with the Gate bypassed, over HTTP on loopback from `wrk`, same
/// server, one run; and audit entries per second with group commit against one commit per entry.
struct GateBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Requests/s through the Gate vs bypassed, and audit entries/s with and without group commit, on SQLite and PostgreSQL."
    )

    @Option(help: "Seconds per HTTP measurement.") var seconds = 8
    @Option(help: "Concurrent connections (and concurrent audit appenders).") var concurrency = 64
    @Option(help: "Audit entries per measurement.") var entries = 5_000
    @Option(help: "Repetitions, alternating the sides; the best of each is reported.") var repeats = 3

    func run() async throws {
        var logger = Logger(label: "coffer.bench")
        logger.logLevel = .critical
        print(machineDescription())
        print(
            """
            HTTP over loopback: wrk, 1 thread, \(concurrency) connections, \(seconds) s per measurement, alternating sides; best \
            of \(repeats)
            """
        )
        print("")
        print(pad("backend", 12) + pad("work", 44) + pad("rate/s", 12) + "ratio")
        // Fresh databases: a temporary SQLite file, and a new schema on the PostgreSQL server.
        try await forEachBackend(target: "bench-gate") { url, label in
            try await measure(url: url, label: label, logger: logger)
        }
    }

    private func measure(url: String, label: String, logger: Logger) async throws {
        let (server, root) = try await unsealedServer(url: url, label: label, logger: logger)
        // A non-root token whose policy allows the no-op, as a service would hold; made through the Gate's
        // Swift API with the root token.
        try await writePolicy(server, root: root, "bench", text: #"path "sys/bench/noop" { capabilities = ["read"] }"#)
        let token = try await serviceToken(server, root: root, policy: "bench")
        // The Gate alone, through its Swift API (no HTTP): 64 concurrent callers, then one at a time. Each call has
        // its own request id, as each HTTP request does: the audit writer lingers for the reads in flight by id, so
        // one id for every caller would count as one read and understate the linger.
        func noop(_ id: String) -> GateRequest {
            GateRequest(token: token, path: "sys/bench/noop", operation: .read, requestID: id, remoteAddress: "local")
        }
        let inProcessCount = 64 * 300
        let started = ContinuousClock.now
        let cpuBefore = processCPUSeconds()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<64 {
                group.addTask {
                    for call in 0..<300 {
                        _ = try await server.gate.perform(noop("bench-\(caller)-\(call)"), status: { _ in 204 }) { _ in 0 }
                    }
                }
            }
            try await group.waitForAll()
        }
        let inProcessSeconds = seconds(ContinuousClock.now - started)
        let cpuPerCall = (processCPUSeconds() - cpuBefore) / Double(inProcessCount) * 1e6
        let sequentialStart = ContinuousClock.now
        for call in 0..<200 { _ = try await server.gate.perform(noop("bench-one-\(call)"), status: { _ in 204 }) { _ in 0 } }
        let latency = seconds(ContinuousClock.now - sequentialStart) / 200 * 1e6
        print(
            pad(label, 12) + pad("Gate.perform in-process, 64 callers", 44)
                + pad(String(format: "%.0f", Double(inProcessCount) / inProcessSeconds), 12)
                + String(format: "%.0f µs CPU per call; one caller: %.0f µs per call (a commit each)", cpuPerCall, latency))

        let router = server.makeGatedRouter()
        router.on("/v1/sys/bench/noop", method: .get) { _, _, _ in Response(status: .noContent) }
        router.probe("/v1/sys/bench/bypass", method: .get) { _, _ in Response(status: .noContent) }
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router.hummingbirdRouter, server: .vaultHTTP1(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let serving = Task { try await group.run() }
        var ports = portStream.makeAsyncIterator()
        guard let port = await ports.next(), port > 0 else { throw ValidationError("the bench server did not start") }
        var gatedRate = 0.0, bypassRate = 0.0
        for _ in 0..<max(1, repeats) {
            gatedRate = max(gatedRate, try await wrk("http://127.0.0.1:\(port)/v1/sys/bench/noop", token: token))
            bypassRate = max(bypassRate, try await wrk("http://127.0.0.1:\(port)/v1/sys/bench/bypass", token: token))
        }
        await group.triggerGracefulShutdown()
        try await serving.value
        let served = Double(server.gate.audit.committedEntries) / Double(max(1, server.gate.audit.commits))
        print(
            pad(label, 12) + pad("no-op through the Gate (durable audit)", 44) + pad(String(format: "%.0f", gatedRate), 12)
                + String(format: "%.1f%% of bypassed; %.1f audit entries per commit", gatedRate / bypassRate * 100, served))
        print(pad(label, 12) + pad("no-op, Gate bypassed", 44) + pad(String(format: "%.0f", bypassRate), 12))

        // Audit entries per second: group commit against one commit per entry, same appenders.
        let signer = try server.keys.auditSigner()
        var grouped = 0.0, single = 0.0, perCommit = 0.0
        for _ in 0..<max(1, repeats) {
            let (rate, average) = try await appendRate(server.database, AuditConfiguration(batchLimit: 512), signer: signer, logger: logger)
            if rate > grouped {
                grouped = rate
                perCommit = average
            }
            single = max(single, try await appendRate(server.database, AuditConfiguration(batchLimit: 1), signer: signer, logger: logger).0)
        }
        print(
            pad(label, 12) + pad("audit entries, group commit", 44) + pad(String(format: "%.0f", grouped), 12)
                + String(format: "%.1fx one commit per entry; %.1f entries per commit", grouped / single, perCommit))
        print(pad(label, 12) + pad("audit entries, one commit per entry", 44) + pad(String(format: "%.0f", single), 12))
        await server.keys.seal()
        await server.database.close()
    }

    private func wrk(_ url: String, token: String) async throws -> Double {
        try await Wrk.run(url, token: token, connections: concurrency, seconds: seconds).rate
    }

    private func appendRate(_ database: any Database, _ configuration: AuditConfiguration, signer: SigningKeyHandle, logger: Logger)
        async throws -> (Double, Double)
    {
        let log = AuditLog(database: database, configuration: configuration, logger: logger) { signer }
        let entries = entries, concurrency = concurrency
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for index in stride(from: worker, to: entries, by: concurrency) {
                        try await log.append(
                            AuditEntry(
                                kind: .request, time: Date(), requestID: "bench-\(index)", accessor: "bench", displayName: "bench",
                                path: "sys/bench/noop", operation: "read", decision: "allow", status: 0, extra: []))
                    }
                }
            }
            try await group.waitForAll()
        }
        let rate = Double(entries) / seconds(ContinuousClock.now - started)
        return (rate, Double(log.committedEntries) / Double(max(1, log.commits)))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
}
