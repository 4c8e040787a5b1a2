import CofferFoundation
import CofferServerTesting
import CofferTesting
import Foundation
import Testing

/// `coffer kv …` against a running service, with the real binaries.
struct KVCommandTests {
    @Test func kvCommandsAndImportEnv() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (serve, port) = try await CofferProcess.serve(
            ["--dev"], in: folder, environment: ["COFFER_DATABASE_URL": "sqlite:./data/coffer.db"])
        defer { serve.terminate() }
        let root = try String(contentsOfFile: "\(folder)/data/dev-root-token", encoding: .utf8)
        func run(_ arguments: [String], stdin: Data? = nil, extra: [String: String] = [:]) async throws -> (Int32, String) {
            let environment = ["COFFER_ADDR": "http://127.0.0.1:\(port)", "COFFER_TOKEN": root].merging(extra) { $1 }
            return try await CofferProcess.run(arguments, in: folder, environment: environment, stdin: stdin)
        }

        // put (one value from stdin, one from a file), get a field, patch, versions.
        try "file-secret\n".write(toFile: "\(folder)/cert.txt", atomically: true, encoding: .utf8)
        let (put, putOutput) = try await run(
            ["kv", "put", "app/db", "user=app", "password=-", "cert=@cert.txt"], stdin: Data("stdin-secret\n".utf8))
        #expect(put == 0 && putOutput.contains("version            1"), "\(putOutput)")
        #expect(try await run(["kv", "get", "-field=password", "app/db"]) == (0, "stdin-secret\n"))
        #expect(try await run(["kv", "get", "-field", "cert", "app/db"]) == (0, "file-secret\n\n"))
        #expect(try await run(["kv", "patch", "app/db", "port=5432"]).0 == 0)
        let (_, json) = try await run(["kv", "get", "-format=json", "app/db"])
        let data = try #require(try VaultAnswer<KV.Read>(json: json).data?.data)
        #expect(
            data == ["user": "app", "password": "stdin-secret", "cert": "file-secret\n", "port": "5432"].mapValues { JSONValue.string($0) })
        #expect(try await run(["kv", "get", "-field=user", "-version=1", "app/db"]) == (0, "app\n"))
        let (casStatus, casOutput) = try await run(["kv", "put", "-cas=1", "app/db", "a=b"])
        #expect(casStatus != 0 && casOutput.contains("check-and-set parameter did not match"), "\(casOutput)")

        // list, metadata, delete / undelete / destroy.
        #expect(try await run(["kv", "list", "app/"]).1.contains("db"))
        #expect(
            try await run([
                "kv", "metadata", "put", "-max-versions=3", "-custom-metadata", "owner=ops", "--rotation-interval", "24h", "app/db"
            ]).0 == 0)
        let (_, metadata) = try await run(["kv", "metadata", "get", "app/db"])
        #expect(
            metadata.contains("max_versions            3") && metadata.contains(#"{"owner":"ops"}"#) && metadata.contains("24h0m0s"),
            "\(metadata)")
        #expect(try await run(["kv", "delete", "app/db"]).0 == 0)
        #expect(try await run(["kv", "get", "app/db"]).0 != 0)
        #expect(try await run(["kv", "undelete", "-versions=2", "app/db"]).0 == 0)
        #expect(try await run(["kv", "get", "-field=port", "app/db"]) == (0, "5432\n"))
        #expect(try await run(["kv", "destroy", "-versions=2", "app/db"]).0 == 0)
        #expect(try await run(["kv", "get", "app/db"]).0 != 0)
        #expect(try await run(["kv", "metadata", "delete", "app/db"]).0 == 0)
        #expect(try await run(["kv", "list", "app/"]).0 != 0)

        // import-env from a dotenv file: quoting rules, prefix, idempotent; values never printed.
        let dotenv = """
            # a comment
            export APP_DB_URL="postgres://u:p@db/app\\nsecond"
            APP_TOKEN=tok-123 # trailing comment
            APP_LITERAL='single $quoted'
            APP_MULTI="line one
            line two"
            OTHER=ignored
            """
        try dotenv.write(toFile: "\(folder)/.env", atomically: true, encoding: .utf8)
        let (imported, importOutput) = try await run(["kv", "import-env", "app/env", "--from-file", ".env", "--prefix", "APP_"])
        #expect(imported == 0 && importOutput.contains("as version 1"), "\(importOutput)")
        #expect(!importOutput.contains("tok-123"))
        let (again, againOutput) = try await run(["kv", "import-env", "app/env", "--from-file", ".env", "--prefix", "APP_"])
        #expect(again == 0 && againOutput.contains("Unchanged"), "\(againOutput)")
        let (_, envJSON) = try await run(["kv", "get", "-format=json", "app/env"])
        let envRead = try #require(try VaultAnswer<KV.Read>(json: envJSON).data)
        #expect(
            envRead.data
                == [
                    "APP_DB_URL": "postgres://u:p@db/app\nsecond", "APP_TOKEN": "tok-123", "APP_LITERAL": "single $quoted",
                    "APP_MULTI": "line one\nline two"
                ].mapValues { JSONValue.string($0) })
        #expect(envRead.metadata.version == 1, "no second version")

        // import-env from this process's environment, with the prefix stripped.
        let (fromEnv, fromEnvOutput) = try await run(
            ["kv", "import-env", "svc", "--prefix", "SVC_", "--strip-prefix"],
            extra: ["SVC_API_KEY": "k-1", "SVC_REGION": "eu"])
        #expect(fromEnv == 0, "\(fromEnvOutput)")
        #expect(try await run(["kv", "get", "-field=API_KEY", "svc"]) == (0, "k-1\n"))
        let (none, noneOutput) = try await run(["kv", "import-env", "nothing", "--prefix", "NOPE_"])
        #expect(none != 0 && noneOutput.contains("no variables matched"))

        serve.terminate()
        #expect(try await serve.waitForExit() == 0)
        let log = serve.stderrLines.joined()
        for secret in ["stdin-secret", "file-secret", "tok-123", "k-1"] { #expect(!log.contains(secret), "a secret reached the log") }
    }
}
