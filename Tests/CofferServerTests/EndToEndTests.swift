import CofferStore
import CofferTesting
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Testing

/// The real `coffer` binary: started, asked over HTTP, stopped by signal; and its bad-input exits.
struct EndToEndTests {
    /// The port from the "coffer is serving" JSON log line.
    func port(from line: String) throws -> Int {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        let listen = try #require(object["coffer.listen"])
        return try #require(Int(listen.split(separator: ":").last ?? ""))
    }

    func serveAndStop(database: String, folder: String) async throws {
        let coffer = try CofferProcess(
            ["serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"], in: folder,
            environment: ["COFFER_DATABASE_URL": database])
        let port = try port(from: try await coffer.waitForLine(containing: "coffer is serving"))
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/sys/health")!)
        request.httpMethod = "GET"
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 501)
        let requestID = try #require((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "X-Request-Id"))
        #expect(String(decoding: data, as: UTF8.self).contains("\"migrations_current\":true"))

        // `coffer status` is a client of the running service.
        let status = try CofferProcess(["status", "--address", "http://127.0.0.1:\(port)"], in: folder)
        #expect(try await status.waitForExit() == 2) // not initialised, as `vault status` exits
        #expect(status.stdout.contains("Initialized"))

        coffer.terminate()
        #expect(try await coffer.waitForExit() == 0)
        let lines = coffer.stderrLines
        // Every line is one JSON object; the request's lines carry its id; nothing shows a password.
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            #expect(object?["message"] != nil, "not a JSON log line: \(line)")
            #expect(!line.contains("e2e-password"))
        }
        #expect(lines.contains { $0.contains(requestID) })
        #expect(lines.last?.contains("coffer stopped") == true)
    }

    @Test(arguments: TestDatabase.backends)
    func servesHealthAndStopsOnSIGTERM(_ backend: TestBackend) async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        switch backend {
        case .sqlite:
            try await serveAndStop(database: "sqlite:./data/coffer.db", folder: folder)
            // A clean shutdown checkpoints the WAL into the file.
            #expect(!FileManager.default.fileExists(atPath: "\(folder)/data/coffer.db-wal"))
        case .postgres:
            let scratch = try await TestDatabase.create(.postgres)
            try await serveAndStop(database: scratch.url, folder: folder)
            try await scratch.drop()
        }
    }

    /// Each bad input: one clear line on stderr, a non-zero exit, and the existing data untouched.
    @Test func badInputFailsClearly() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let migrate = try CofferProcess(["migrate", "--database", "sqlite:./data/coffer.db"], in: folder)
        #expect(try await migrate.waitForExit() == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/data/coffer.db"))

        try FileManager.default.createDirectory(atPath: "\(folder)/gap/sqlite", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(folder)/gap/postgres", withIntermediateDirectories: true)
        for dialect in ["sqlite", "postgres"] {
            for file in ["0001_instance.sql", "0003_later.sql"] {
                try Data("CREATE TABLE x (id INTEGER);".utf8).write(to: URL(fileURLWithPath: "\(folder)/gap/\(dialect)/\(file)"))
            }
        }
        try FileManager.default.createDirectory(atPath: "\(folder)/notwritable", withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: "\(folder)/blocker"))
        let cases: [([String], String)] = [
            (["migrate", "--database", "mysql://nope"], "unrecognised database URL"),
            (["migrate", "--database", "postgres://u:e2e-password@127.0.0.1:1/db?connect_timeout=2"], "cannot connect to PostgreSQL"),
            (["migrate", "--database", "sqlite:./blocker/coffer.db"], "blocker"),
            (["migrate", "--database", "sqlite:./data/coffer.db", "--migrations", "./gap"], "no migration numbered 0002"),
            (["serve", "--listen", "nonsense"], "malformed listen address")
        ]
        for (arguments, expected) in cases {
            let run = try CofferProcess(arguments, in: folder)
            let status = try await run.waitForExit()
            #expect(status != 0, "\(arguments)")
            let errorLines = run.stderrLines.filter { $0.hasPrefix("Error:") }
            #expect(errorLines.count == 1, "\(arguments): \(run.stderrLines)")
            #expect(errorLines.first?.contains(expected) == true, "\(arguments): \(run.stderrLines)")
            #expect(!run.stderrLines.joined().contains("e2e-password"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/data/coffer.db")) == before)
    }
}

/// The operator flow with the real binaries: init writes a key file, serve unseals from it at start.
struct OperatorEndToEndTests {
    @Test func initWithKeyFileThenServeUnsealed() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = "sqlite:./data/coffer.db"
        let first = try CofferProcess(
            ["serve", "--listen", "127.0.0.1:0", "--log-format", "json"], in: folder,
            environment: ["COFFER_DATABASE_URL": database])
        let line = try await first.waitForLine(containing: "coffer is serving")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        let port = try #require(object["coffer.listen"]?.split(separator: ":").last.map(String.init))
        let address = "http://127.0.0.1:\(port)"
        let initialise = try CofferProcess(["operator", "init", "--key-file", "./unseal.key", "--address", address], in: folder)
        #expect(try await initialise.waitForExit() == 0)
        #expect(initialise.stdout.contains("Initial Root Token: cfr."))
        let mode = try FileManager.default.attributesOfItem(atPath: "\(folder)/unseal.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        first.terminate()
        #expect(try await first.waitForExit() == 0)

        let second = try CofferProcess(
            ["serve", "--listen", "127.0.0.1:0", "--unseal-key-file", "./unseal.key", "--log-format", "json"],
            in: folder, environment: ["COFFER_DATABASE_URL": database])
        let secondLine = try await second.waitForLine(containing: "coffer is serving")
        let secondObject = try #require(try JSONSerialization.jsonObject(with: Data(secondLine.utf8)) as? [String: String])
        let secondPort = try #require(secondObject["coffer.listen"]?.split(separator: ":").last.map(String.init))
        let status = try CofferProcess(["operator", "status", "--address", "http://127.0.0.1:\(secondPort)"], in: folder)
        #expect(try await status.waitForExit() == 0) // unsealed
        second.terminate()
        #expect(try await second.waitForExit() == 0)
        // The key never reaches the log.
        let key = try String(contentsOfFile: "\(folder)/unseal.key", encoding: .utf8)
        #expect(!(first.stderrLines + second.stderrLines).joined().contains(key))
    }
}

/// `coffer policy check|test` on the shipped Policies/ folder.
struct PolicyCommandTests {
    static let policies = #filePath.components(separatedBy: "/Tests/")[0] + "/Policies"

    @Test func testAnswersAllowOrDenyWithTheRule() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let allow = try CofferProcess(
            [
                "policy", "test", "--policies-dir", Self.policies, "--token-policies", "service-reader,default",
                "--path", "secret/data/app/db", "--capability", "read"
            ], in: folder)
        #expect(try await allow.waitForExit() == 0)
        #expect(allow.stdout.contains("allow: path \"secret/data/app/*\""))
        let deny = try CofferProcess(
            [
                "policy", "test", "--policies-dir", Self.policies, "--token-policies", "auditor",
                "--path", "secret/data/app/db", "--capability", "read"
            ], in: folder)
        #expect(try await deny.waitForExit() == 2)
        #expect(deny.stdout.contains("deny: path \"secret/*\""))
    }

    @Test func checkNamesTheLineAndColumn() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: "\(folder)/p", withIntermediateDirectories: true)
        try Data("path \"a\" {\n  capabilities = [\"raed\"]\n}\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/p/bad.hcl"))
        let check = try CofferProcess(["policy", "check", "./p"], in: folder)
        #expect(try await check.waitForExit() != 0)
        #expect(check.stderrLines.contains { $0.contains("bad.hcl:2:19") && $0.contains("unknown capability") })
        let good = try CofferProcess(["policy", "check", Self.policies], in: folder)
        #expect(try await good.waitForExit() == 0)
    }
}
