import ArgumentParser
import CofferAccess
import CofferCrypto
import CofferEngines
import CofferFoundation
import CofferKeys
import CofferRotation
import CofferServer
import CofferStore
import CofferTesting
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// `coffer-bench rotate`: 1,000 credentials with the `random` rotator, all due at once, rotated by the
/// `coffer rotate` command that `make rotate` runs (a separate process over HTTP, with a rotation-runner
/// token), on SQLite and PostgreSQL; then dynamic PostgreSQL credentials created and revoked per second.
struct RotateBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "make rotate over many due credentials (SQLite, PostgreSQL), and dynamic PostgreSQL credentials per second."
    )

    @Option(help: "Credentials due at once.") var credentials = 1000
    @Option(help: "Dynamic credentials to create (and revoke).") var dynamic = 200

    func run() async throws {
        var logger = Logger(label: "coffer.bench")
        logger.logLevel = .critical
        print(machineDescription())
        // `coffer rotate` runs from the binary built beside this one (CofferProcess.binary).
        guard FileManager.default.isExecutableFile(atPath: CofferProcess.binary) else {
            throw ValidationError("\(CofferProcess.binary) is missing: build it (make build-release)")
        }
        print(
            """
            \(credentials) credentials (random rotator) due at once, rotated by `coffer rotate run` (what make rotate runs) over \
            HTTP on loopback
            """
        )
        print("")
        try await forEachBackend(target: "bench-rotate") { url, label in
            try await measure(url: url, label: label, logger: logger)
        }
    }

    private func measure(url: String, label: String, logger: Logger) async throws {
        let (server, root) = try await unsealedServer(url: url, label: label, logger: logger)
        let policies = #filePath.components(separatedBy: "/Sources/")[0] + "/Policies"
        try await writePolicy(
            server, root: root, "rotation-runner", text: try String(contentsOfFile: policies + "/rotation-runner.hcl", encoding: .utf8))
        let runner = try await serviceToken(server, root: root, policy: "rotation-runner")
        let count = credentials
        _ = try await server.gate.perform(setupRequest(root: root, path: "secret/data/bench", operation: .write), status: { _ in 200 }) {
            grant in
            for index in 0..<count {
                let path = try SecretPath(mount: "secret", path: "bench/key-\(index)")
                let data = try JSONValue.object(["value": .string("initial-\(index)")]).encoded()
                _ = try await server.credentials.write(grant, path, data: SecureHandle(SecureBytes(copying: Array(data))), cas: nil)
                try await server.credentials.writeMetadata(
                    grant, path, MetadataUpdate(rotationInterval: 3600, rotationKind: .some("random")), merge: false)
            }
            return 0
        }
        try await server.database.transaction { conn in
            _ = try conn.execute("UPDATE api_credentials SET next_rotation_at = \(Date(timeIntervalSinceNow: -60))")
        }

        // Timed inside: the service's start and shutdown are not the rotation's.
        let (status, output, elapsed) = try await withServing(server, logger: logger) { port in
            let started = ContinuousClock.now
            let (status, output) = try await CofferProcess.run(
                ["rotate", "run", "--json"], in: FileManager.default.temporaryDirectory.path,
                environment: ["COFFER_ADDR": "http://127.0.0.1:\(port)", "COFFER_TOKEN": runner])
            return (status, output, seconds(ContinuousClock.now - started))
        }
        let rotated = output.components(separatedBy: "\"result\":\"rotated\"").count - 1
        print(
            pad(label, 12)
                + String(
                    format: "make rotate: %d of %d rotated in %.2f s, %.0f credentials/s (exit status %d); %.1f audit entries per commit",
                    rotated, count, elapsed, Double(rotated) / elapsed, status,
                    Double(server.gate.audit.committedEntries) / Double(max(1, server.gate.audit.commits))))

        if label == "postgresql", let target = TestDatabase.postgresURL {
            try await dynamicCredentials(server: server, root: root, target: target)
        }
        await server.keys.seal()
    }

    private func dynamicCredentials(server: CofferServer, root: String, target: String) async throws {
        let engine = server.databaseEngine
        let request = GateRequest(token: root, path: "database/creds/bench", operation: .read, requestID: "bench", remoteAddress: "local")
        let count = dynamic
        let (created, revoked) = try await server.gate.perform(request, status: { _ in 200 }) { grant -> (Double, Double) in
            try await engine.writeConnection(
                grant,
                DatabaseConnection(
                    name: "bench", pluginName: "postgresql-database-plugin", connectionURL: target,
                    username: "coffer", allowedRoles: ["*"]), password: "trust")
            try await engine.writeRole(
                grant,
                DatabaseRole(
                    name: "bench", dbName: "bench",
                    creationStatements: [
                        #"CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'"#
                    ], revocationStatements: [], defaultTTL: 3600, maxTTL: 7200))
            var leases: [String] = []
            let start = ContinuousClock.now
            for _ in 0..<count { leases.append(try await engine.issue(grant, role: "bench").lease.id) }
            let createSeconds = seconds(ContinuousClock.now - start)
            let revokeStart = ContinuousClock.now
            for lease in leases { try await engine.revoke(grant, lease: lease) }
            return (Double(count) / createSeconds, Double(count) / seconds(ContinuousClock.now - revokeStart))
        }
        print(
            pad("postgresql", 12)
                + String(
                    format:
                        """
                        dynamic credentials: %.0f created/s, %.0f revoked/s (%d each; a role with VALID UNTIL, one connection to \
                        the target per call)
                        """,
                    created, revoked, count))
        // Expired leases reaped in batches of 100 (one connection to the target per batch), as the reaper does.
        let reaped = try await server.gate.perform(request, status: { _ in 200 }) { grant -> Double in
            try await engine.writeRole(
                grant,
                DatabaseRole(
                    name: "bench-short", dbName: "bench",
                    creationStatements: [
                        #"CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'"#
                    ], revocationStatements: [], defaultTTL: 1, maxTTL: 1))
            for _ in 0..<count { _ = try await engine.issue(grant, role: "bench-short") }
            try await Task.sleep(for: .milliseconds(1500))
            let start = ContinuousClock.now
            var total = 0
            while true {
                let batch = try await engine.reapExpired(grant, limit: 100)
                total += batch.revoked
                if batch.revoked + batch.failed == 0 { break }
            }
            return Double(total) / seconds(ContinuousClock.now - start)
        }
        print(
            pad("postgresql", 12)
                + String(format: "expired leases reaped: %.0f/s (%d, batches of 100 over one target connection each)", reaped, count))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
}
