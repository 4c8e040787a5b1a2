import CofferTesting
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Testing

/// `coffer token|policy|audit` against a running service, with the real binaries.
struct GateCommandTests {
    static let policies = #filePath.components(separatedBy: "/Tests/")[0] + "/Policies"

    @Test func tokenPolicyAndAuditCommands() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (serve, port) = try await CofferProcess.serve(
            ["--dev", "--audit-witness", "\(folder)/witness.jsonl", "--audit-log-file", "\(folder)/copy.jsonl"],
            in: folder, environment: ["COFFER_DATABASE_URL": "sqlite:./data/coffer.db"])
        defer { serve.terminate() }
        let root = try String(contentsOfFile: "\(folder)/data/dev-root-token", encoding: .utf8)
        let environment = ["COFFER_ADDR": "http://127.0.0.1:\(port)", "COFFER_TOKEN": root]
        func run(_ arguments: [String], stdin: Data? = nil, token: String? = nil) async throws -> (Int32, String) {
            var env = environment
            if let token { env["COFFER_TOKEN"] = token }
            return try await CofferProcess.run(arguments, in: folder, environment: env, stdin: stdin)
        }

        // policy apply: the folder's policies are written, a second run changes nothing.
        let (applied, applyOutput) = try await run(["policy", "apply", Self.policies])
        #expect(applied == 0, "\(applyOutput)")
        #expect(applyOutput.contains("+ auditor") && applyOutput.contains("+ service-reader"))
        let (again, againOutput) = try await run(["policy", "apply", Self.policies])
        #expect(again == 0 && againOutput.contains("No changes"), "\(againOutput)")
        let (_, listed) = try await run(["policy", "list"])
        #expect(listed.contains("auditor") && listed.contains("root"))

        // token create for the auditor; its token is on stdout once.
        let (created, createOutput) = try await run(["token", "create", "--policy", "auditor", "--ttl", "1h", "--display-name", "security"])
        #expect(created == 0, "\(createOutput)")
        let auditorToken = try #require(
            createOutput.split(separator: "\n").first { $0.hasPrefix("token ") }?.split(separator: " ").last.map(String.init))
        let (looked, lookOutput) = try await run(["token", "lookup"], token: auditorToken)
        #expect(looked == 0 && lookOutput.contains("token-security"), "\(lookOutput)")

        // audit: verify online, export, verify offline with the public key, and a tampered export fails naming the entry.
        let (verified, verifyOutput) = try await run(["audit", "verify"], token: auditorToken)
        #expect(verified == 0 && verifyOutput.contains("intact"), "\(verifyOutput)")
        let (_, keyOutput) = try await run(["audit", "public-key"], token: auditorToken)
        let publicKey = keyOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(publicKey.count == 64)
        #expect(try await run(["audit", "export", "--format", "jsonl", "--output", "trail.jsonl"], token: auditorToken).0 == 0)
        let (offline, offlineOutput) = try await run(["audit", "verify", "--file", "trail.jsonl", "--public-key", publicKey])
        #expect(offline == 0 && offlineOutput.contains("intact"), "\(offlineOutput)")
        var lines = try String(contentsOfFile: "\(folder)/trail.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count > 10)
        // Entry 5 claims another path, in its hashed fields; entry 7 only in the top-level copy a reader sees.
        func tamper(_ index: Int, hashed: Bool) throws {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(lines[index].utf8)) as? [String: String])
            if hashed {
                let text = try #require(object["fields"])
                var fields = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String]])
                fields = fields.map { $0[0] == "path" ? ["path", "sys/elsewhere"] : $0 }
                object["fields"] = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
            } else {
                object["path"] = "sys/elsewhere"
            }
            lines[index] = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        let original = lines
        for (index, hashed) in [(4, true), (6, false)] {
            lines = original
            try tamper(index, hashed: hashed)
            try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: "\(folder)/tampered.jsonl"))
            let (tampered, tamperedOutput) = try await run(["audit", "verify", "--file", "tampered.jsonl", "--public-key", publicKey])
            #expect(tampered == 2 && tamperedOutput.contains("entry \(index + 1) was altered"), "\(tamperedOutput)")
        }

        // The JSON-lines copy holds the same entries and verifies offline too.
        let (copied, copiedOutput) = try await run(["audit", "verify", "--file", "copy.jsonl", "--public-key", publicKey])
        #expect(copied == 0 && copiedOutput.contains("intact"), "\(copiedOutput)")

        // audit hash: the auditor checks whether a known token was handed out.
        let (_, hashOutput) = try await run(["audit", "hash"], stdin: Data(auditorToken.utf8), token: auditorToken)
        let hash = hashOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash.hasPrefix("hmac:"))
        let (_, queryOutput) = try await run(["audit", "query", "--path", "auth/token/create", "--json"], token: auditorToken)
        #expect(queryOutput.contains(hash))
        #expect(!queryOutput.contains(auditorToken))
        // The auditor reads nothing else.
        let (denied, deniedOutput) = try await run(["policy", "list"], token: auditorToken)
        #expect(denied != 0 && deniedOutput.contains("403"), "\(deniedOutput)")

        // token revoke by stdin; then the auditor's token is refused.
        #expect(try await run(["token", "revoke", "--token-stdin"], stdin: Data(auditorToken.utf8)).0 == 0)
        #expect(try await run(["token", "lookup"], token: auditorToken).0 != 0)

        // The witness file got checkpoints only if enough entries were written; the service log never shows a token.
        serve.terminate()
        #expect(try await serve.waitForExit() == 0)
        #expect(!serve.stderrLines.joined().contains(auditorToken))
        #expect(!serve.stderrLines.joined().contains(root.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func policyFmtKeepsCommentsAndIsIdempotent() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let messy =
            """
            # readers\npath   \"secret/data/app/*\"{\ncapabilities=[ \"read\",\"list\" ]   # both\n}\n\n\n\npath \"x\" {\n    \
            capabilities = [\"deny\"]\n}\n
            """
        try Data(messy.utf8).write(to: URL(fileURLWithPath: "\(folder)/p.hcl"))
        let first = try CofferProcess(["policy", "fmt", "p.hcl"], in: folder)
        #expect(try await first.waitForExit() == 0)
        #expect(
            first.stdout == """
                # readers
                path "secret/data/app/*" {
                  capabilities = ["read", "list"] # both
                }

                path "x" {
                  capabilities = ["deny"]
                }

                """)
        try Data(first.stdout.utf8).write(to: URL(fileURLWithPath: "\(folder)/q.hcl"))
        let second = try CofferProcess(["policy", "fmt", "q.hcl"], in: folder)
        #expect(try await second.waitForExit() == 0)
        #expect(second.stdout == first.stdout)
        try Data("path \"a\" {\n  capabilities = [\"raed\"]\n}\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/bad.hcl"))
        let bad = try CofferProcess(["policy", "fmt", "bad.hcl"], in: folder)
        #expect(try await bad.waitForExit() != 0)
        #expect(bad.stderrLines.joined().contains("2:"))
    }
}
