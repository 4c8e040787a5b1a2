import CofferCrypto
import CofferTesting
import Foundation
import Testing

/// `coffer model|features|cache …` against a running service, with the real binaries: artifacts streamed
/// from and to files, the seed's file-based models imported twice (the second time adds nothing).
struct SuiteCommandTests {
    @Test func modelFeatureAndCacheCommands() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (serve, port) = try await CofferProcess.serve(
            ["--dev"], in: folder,
            environment: [
                "COFFER_DATABASE_URL": "sqlite:./data/coffer.db",
                "COFFER_HEALTH_COMMAND_DIR": "/bin", "COFFER_ALERT_EVALUATION_INTERVAL": "1"
            ])
        defer { serve.terminate() }
        let root = try String(contentsOfFile: "\(folder)/data/dev-root-token", encoding: .utf8)
        func run(_ arguments: [String], stdin: Data? = nil) async throws -> (Int32, String) {
            try await CofferProcess.run(
                arguments, in: folder, environment: ["COFFER_ADDR": "http://127.0.0.1:\(port)", "COFFER_TOKEN": root], stdin: stdin)
        }

        // Register from a file, download it back, checked.
        let artifact = Random.bytes(2 << 20)
        try Data(artifact).write(to: URL(fileURLWithPath: "\(folder)/model.bin"))
        let (registered, registerOutput) = try await run([
            "model", "register", "fraud", "model.bin", "--version-label", "1.0.0", "--algorithm", "xgboost",
            "--training-metrics", #"{"accuracy": 0.93}"#, "--tag", "team=risk"
        ])
        #expect(
            registered == 0 && registerOutput.contains("version 1") && registerOutput.contains(SHA256.hex(artifact)), "\(registerOutput)")
        #expect(try await run(["model", "promote", "fraud", "1"]).1.contains("staged"))
        #expect(try await run(["model", "alias", "fraud", "champion", "1"]).0 == 0)
        let (downloaded, downloadOutput) = try await run(["model", "download", "fraud", "champion", "-o", "out.bin"])
        #expect(downloaded == 0, "\(downloadOutput)")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: "\(folder)/out.bin"))) == artifact)
        let (searched, searchOutput) = try await run(["model", "search", "--metric", "training.accuracy > 0.9"])
        #expect(searched == 0 && searchOutput.contains("fraud") && searchOutput.contains("champion"), "\(searchOutput)")
        let (retire, retireOutput) = try await run(["model", "retire", "fraud", "1"])
        #expect(retire != 0 && retireOutput.contains("champion"), "\(retireOutput)")

        // The seed's file storage → registry; idempotent on digest.
        try FileManager.default.createDirectory(atPath: "\(folder)/seed/churn", withIntermediateDirectories: true)
        try Data("weights-a".utf8).write(to: URL(fileURLWithPath: "\(folder)/seed/churn/a.pkl"))
        try Data("weights-b".utf8).write(to: URL(fileURLWithPath: "\(folder)/seed/churn/b.pkl"))
        try Data(#"{"version_label": "2.0.0", "algorithm": "logreg"}"#.utf8).write(
            to: URL(fileURLWithPath: "\(folder)/seed/churn/b.pkl.json"))
        let (imported, importOutput) = try await run(["model", "import", "seed"])
        #expect(imported == 0 && importOutput.contains("2 added, 0 already registered"), "\(importOutput)")
        let (again, againOutput) = try await run(["model", "import", "seed"])
        #expect(again == 0 && againOutput.contains("0 added, 2 already registered"), "\(againOutput)")
        #expect(try await run(["model", "list", "churn"]).1.contains("2.0.0"))

        // Features and cache.
        #expect(try await run(["features", "define", "prices", "--ttl", "1h"]).0 == 0)
        #expect(try await run(["features", "put", "prices", "BTC", "price=101.5", "volume=null"]).0 == 0)
        let (_, features) = try await run(["features", "get", "prices", "BTC", "ETH", "--features", "price"])
        #expect(features.contains("BTC") && features.contains("101.5") && features.contains("missing"), "\(features)")
        let (badPut, badPutOutput) = try await run(["features", "put", "prices", "BTC", #"price="high""#])
        #expect(badPut != 0 && badPutOutput.contains("must be a number"), "\(badPutOutput)")
        #expect(try await run(["features", "stats", "prices"]).1.contains("1 present"))
        #expect(try await run(["cache", "put", "sessions", "u1", "-", "--ttl", "10m"], stdin: Data("hello".utf8)).0 == 0)
        #expect(try await run(["cache", "get", "sessions", "u1"]) == (0, "hello\n"))
        #expect(try await run(["cache", "warm", "sessions"]).1.contains("loaded 1"))
        #expect(try await run(["cache", "stats"]).1.contains("sessions"))
        #expect(try await run(["cache", "delete", "sessions", "u1"]).0 == 0)
        #expect(try await run(["cache", "get", "sessions", "u1"]).0 == 1)

        // Error logs: the seed's log files imported twice (the second time adds nothing), then the workflow.
        let log = """
            2026-11-25 12:00:01,500 ERROR [payments] charge failed
            Traceback (most recent call last):
              File "/srv/app/payments.py", line 42, in charge
                raise CardDeclined(card)
            payments.CardDeclined: card 4242 declined
            2026-11-25 12:00:02,000 CRITICAL db: connection refused
            """
        try log.write(toFile: "\(folder)/app.log", atomically: true, encoding: .utf8)
        let (importedLog, importLogOutput) = try await run(["errors", "import", "app.log", "--release", "1.0.0"])
        #expect(importedLog == 0 && importLogOutput.contains("2 added, 0 already imported"), "\(importLogOutput)")
        #expect(try await run(["errors", "import", "app.log"]).1.contains("0 added, 2 already imported"))
        let (_, issues) = try await run(["errors", "list"])
        #expect(issues.contains("payments.CardDeclined") && issues.contains("critical"), "\(issues)")
        #expect(try await run(["errors", "resolve", "1", "--in-release", "1.1.0"]).1.contains("resolved in 1.1.0"))
        #expect(
            try await run([
                "errors", "log", "late retry", "--component", "payments", "--type", "payments.CardDeclined", "--release", "1.0.5",
                "--fingerprint", "x"
            ]).0 == 0)
        #expect(try await run(["errors", "stats", "--window", "87600h"]).1.contains("payments"))

        // Metrics: a point, Prometheus text from stdin, a query, the retention.
        #expect(try await run(["metrics", "push", "queue_depth", "7", "queue=mail"]).1.contains("Stored 1"))
        #expect(try await run(["metrics", "push", "--file", "-"], stdin: Data("queue_depth{queue=\"mail\"} 9\n".utf8)).0 == 0)
        let (_, depth) = try await run([
            "metrics", "query", "queue_depth", "--fn", "max", "--step", "60", "--by", "queue", "--from",
            String(Int(Date().timeIntervalSince1970) - 600)
        ])
        #expect(depth.contains("queue=mail") && depth.contains("9.0"), "\(depth)")
        #expect(try await run(["metrics", "series"]).1.contains("queue_depth{queue=\"mail\"}"))
        #expect(try await run(["metrics", "retention", "queue_depth", "--raw", "48h"]).1.contains("raw 172800 s"))

        // Health checks as code, run by the service itself: a tcp check of its own port, a failing command.
        let checks = """
            {"checks": [
              {"name": "self", "component": "coffer", "type": "tcp", "host": "127.0.0.1", "port": \(port), "interval": 1, "timeout": 1},
              {"name": "broken", "component": "jobs", "type": "command", "command": ["/bin/sh", "-c", "exit 2"], "interval": 1, \
            "timeout": 1, "fail_after": 1}
            ]}
            """
        try checks.write(toFile: "\(folder)/checks.json", atomically: true, encoding: .utf8)
        let (_, appliedChecks) = try await run(["health", "apply", "checks.json"])
        #expect(appliedChecks.contains("+ self"), "\(appliedChecks)")
        #expect(try await run(["health", "apply", "checks.json"]).1.contains("nothing to change"))
        var status = ""
        _ = try await eventually(within: .seconds(10)) {
            status = try await run(["health", "status"]).1
            return status.contains("passing") && status.contains("critical")
        }
        #expect(
            status.contains("overall: critical") && status.contains("coffer: passing") && status.contains("jobs: critical"), "\(status)")
        #expect(status.contains("audit committing"), "Coffer's own health is a check too: \(status)")
        #expect(
            try await run([
                "health", "maintenance", "jobs", "--until", String(Int(Date().timeIntervalSince1970) + 600), "--reason", "migration"
            ]).0 == 0)
        #expect(try await run(["health", "results", "self"]).1.contains("connected"))

        // Alert rules as code, evaluated every second here (COFFER_ALERT_EVALUATION_INTERVAL): a critical error fires "worker-down".
        try #"{"rules": [{"name": "worker-down", "type": "error_burst", "component": "worker", "count": 1, "sinks": [{"type": "log"}]}]}"#
            .write(toFile: "\(folder)/rules.json", atomically: true, encoding: .utf8)
        #expect(try await run(["alerts", "apply", "rules.json"]).1.contains("+ worker-down"))
        // Silenced before the error, so no evaluation can fire it unsilenced in between.
        #expect(
            try await run([
                "alerts", "silence", "worker-down", "--until", String(Int(Date().timeIntervalSince1970) + 600), "--reason", "known"
            ]).0 == 0)
        #expect(try await run(["errors", "log", "queue consumer died", "--component", "worker", "--severity", "critical"]).0 == 0)
        var firing = ""
        _ = try await eventually(within: .seconds(15)) {
            firing = try await run(["alerts", "list"]).1
            return firing.contains("worker-down")
        }
        #expect(firing.contains("worker-down") && firing.contains("worker"), "\(firing)")
        // The transition's history entry is written by the same evaluation, which may still be finishing under load.
        var history = ""
        _ = try await eventually(within: .seconds(15)) {
            history = try await run(["alerts", "history"]).1
            return history.contains("silenced")
        }
        #expect(history.contains("silenced"), "\(history)")
        #expect(try await run(["report", "health"]).1.contains("jobs"))
        #expect(try await run(["report", "models"]).1.contains("fraud"))
    }
}
