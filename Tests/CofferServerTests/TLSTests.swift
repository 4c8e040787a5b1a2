import CofferTesting
import Foundation
import Testing

/// The TLS listener with certificates made at test time: hvac verifying the test CA, mutual TLS, a
/// reload on SIGHUP that keeps open connections, the CLI's verification, and plain HTTP refused off loopback.
@Suite(.enabled(if: TestPython.available, "set COFFER_TEST_PYTHON to a python with hvac to drive the TLS listener"))
struct TLSTests {
    struct Server {
        let process: CofferProcess
        let address: String
        let root: String
    }

    func serve(_ folder: String, _ extra: [String]) async throws -> Server {
        let (process, port) = try await CofferProcess.serve(
            ["--dev"] + extra, in: folder, environment: ["COFFER_DATABASE_URL": "sqlite:./data/coffer.db"])
        #expect(process.stderrLines.contains { $0.contains("coffer is serving") && $0.contains(#""coffer.scheme":"https""#) })
        let root = try String(contentsOfFile: "\(folder)/data/dev-root-token", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        return Server(process: process, address: "https://127.0.0.1:\(port)", root: root)
    }

    /// The hvac TLS script (Hvac/hvac_tls.py) in `mode` against `server`.
    func python(_ mode: String, _ server: Server, certificates: TestCertificates, extra: [String: String] = [:]) throws
        -> (executable: String, arguments: [String], environment: [String: String])
    {
        let python = try #require(TestPython.path, "CI=true but COFFER_TEST_PYTHON is not set: the TLS checks cannot be skipped")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Hvac/hvac_tls.py").path
        return (
            python, [script],
            [
                "COFFER_ADDR": server.address, "COFFER_ROOT_TOKEN": server.root, "CERTS": certificates.folder, "MODE": mode,
                "PATH": "/usr/bin:/bin"
            ].merging(extra) { $1 }
        )
    }

    func runPython(_ mode: String, _ server: Server, certificates: TestCertificates) throws -> (Int32, String) {
        let command = try python(mode, server, certificates: certificates)
        return try ExternalCommand.run(command.executable, command.arguments, environment: command.environment)
    }

    func cli(_ arguments: [String], in folder: String, _ environment: [String: String]) async throws -> (Int32, String) {
        try await CofferProcess.run(arguments, in: folder, environment: environment)
    }

    @Test func hvacAndTheCLIVerifyTheServer() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let certificates = try TestCertificates.make(in: folder)
        let server = try await serve(
            folder, ["--tls-cert-file", certificates.certificate("server"), "--tls-key-file", certificates.key("server")])
        defer { server.process.terminate() }
        let (status, output) = try runPython("tls", server, certificates: certificates)
        #expect(status == 0 && output.contains("tls tls works"), "\(output)")

        // The CLI: verified with COFFER_CACERT, refused without it, unverified only when told.
        let base = ["COFFER_ADDR": server.address, "COFFER_TOKEN": server.root]
        let (verified, verifiedOutput) = try await cli(
            ["kv", "get", "-field=password", "tls/db"], in: folder, base.merging(["COFFER_CACERT": certificates.caFile]) { $1 })
        #expect(verified == 0 && verifiedOutput == "over-tls\n", "\(verifiedOutput)")
        let (unverified, unverifiedOutput) = try await cli(["kv", "get", "tls/db"], in: folder, base)
        #expect(unverified != 0 && unverifiedOutput.contains("COFFER_CACERT"), "\(unverifiedOutput)")
        #expect(!unverifiedOutput.contains("over-tls"))
        let (skipped, _) = try await cli(["kv", "get", "tls/db"], in: folder, base.merging(["COFFER_SKIP_VERIFY": "true"]) { $1 })
        #expect(skipped == 0)
        server.process.terminate()
        #expect(try await server.process.waitForExit() == 0)
    }

    @Test func mutualTLSRequiresAClientCertificate() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let certificates = try TestCertificates.make(in: folder)
        let server = try await serve(
            folder,
            [
                "--tls-cert-file", certificates.certificate("server"), "--tls-key-file", certificates.key("server"),
                "--tls-client-ca-file", certificates.caFile
            ])
        defer { server.process.terminate() }
        let (status, output) = try runPython("mtls", server, certificates: certificates)
        #expect(status == 0 && output.contains("tls mtls works"), "\(output)")
        let base = ["COFFER_ADDR": server.address, "COFFER_TOKEN": server.root, "COFFER_CACERT": certificates.caFile]
        #expect(try await cli(["kv", "get", "mtls/db"], in: folder, base).0 != 0, "no client certificate, no answer")
        let withCertificate = base.merging([
            "COFFER_CLIENT_CERT": certificates.certificate("client"), "COFFER_CLIENT_KEY": certificates.key("client")
        ]) { $1 }
        #expect(try await cli(["kv", "get", "-field=password", "mtls/db"], in: folder, withCertificate) == (0, "mutual\n"))
    }

    @Test func sighupReloadsTheCertificateWithoutDroppingConnections() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let certificates = try TestCertificates.make(in: folder)
        try FileManager.default.copyItem(atPath: certificates.certificate("server"), toPath: "\(folder)/live.pem")
        try FileManager.default.copyItem(atPath: certificates.key("server"), toPath: "\(folder)/live.key")
        let server = try await serve(folder, ["--tls-cert-file", "live.pem", "--tls-key-file", "live.key"])
        defer { server.process.terminate() }
        let signal = "\(folder)/reload-now", done = "\(folder)/reload-done"
        // Started here and finished below: the client holds a connection open across the reload.
        let command = try python(
            "reload", server, certificates: certificates, extra: ["RELOAD_SIGNAL_FILE": signal, "RELOAD_DONE_FILE": done])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        process.environment = command.environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Once the client holds a connection, swap the files and send SIGHUP.
        let deadline = ContinuousClock.now + .seconds(30)
        while !FileManager.default.fileExists(atPath: signal), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        for (source, target) in [(certificates.certificate("server2"), "live.pem"), (certificates.key("server2"), "live.key")] {
            try FileManager.default.removeItem(atPath: "\(folder)/\(target)")
            try FileManager.default.copyItem(atPath: source, toPath: "\(folder)/\(target)")
        }
        server.process.send(signal: SIGHUP)
        _ = try await server.process.waitForLine(containing: "TLS certificate reloaded", timeout: .seconds(10))
        _ = FileManager.default.createFile(atPath: done, contents: nil)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let status = process.terminationStatus
        #expect(status == 0 && text.contains("tls reload works"), "\(text)")

        // A broken file on reload keeps the current certificate and says why.
        try "not a certificate".write(toFile: "\(folder)/live.pem", atomically: true, encoding: .utf8)
        server.process.send(signal: SIGHUP)
        _ = try await server.process.waitForLine(containing: "TLS reload failed", timeout: .seconds(10))
        let base = ["COFFER_ADDR": server.address, "COFFER_TOKEN": server.root, "COFFER_CACERT": certificates.caFile]
        #expect(try await cli(["status"], in: folder, base).0 == 0, "still serving with the previous certificate")
    }

    @Test func plainHTTPOffLoopbackIsRefusedUnlessInsecure() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let refused = try CofferProcess(
            ["serve", "--listen", "0.0.0.0:0"], in: folder, environment: ["COFFER_DATABASE_URL": "sqlite:./data/coffer.db"])
        #expect(try await refused.waitForExit() != 0)
        #expect(refused.stderrLines.joined().contains("refusing plain HTTP"))
        let insecure = try CofferProcess(
            ["serve", "--listen", "0.0.0.0:0", "--insecure-listen", "--log-format", "json"], in: folder,
            environment: ["COFFER_DATABASE_URL": "sqlite:./data/coffer.db"])
        defer { insecure.terminate() }
        _ = try await insecure.waitForLine(containing: "coffer is serving")
        #expect(insecure.stderrLines.joined().contains("secrets cross the network in the clear"))
        let half = try CofferProcess(
            ["serve", "--tls-cert-file", "x.pem"], in: folder, environment: ["COFFER_DATABASE_URL": "sqlite:./data/coffer.db"])
        #expect(try await half.waitForExit() != 0)
        #expect(half.stderrLines.joined().contains("go together"))
    }
}
