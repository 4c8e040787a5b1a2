import CofferAccess
import CofferServer
import CofferServerTesting
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Vault's audit devices beside Coffer's trail: `sys/audit` lists the trail and enables file and socket
/// devices that receive every request and response in Vault's JSON format, values HMAC-SHA256'd with the
/// device's own key (`sys/audit-hash` reproduces them); destinations stay inside what the operator allows; a
/// device that fails never fails a request, while the trail still records it.
struct AuditDeviceTests {
    /// Waits (bounded) until `file` holds at least `count` lines, and returns them.
    private func lines(_ file: String, atLeast count: Int) async throws -> [DeviceLine] {
        for _ in 0..<200 {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            let lines = text.split(separator: "\n")
            if lines.count >= count {
                return try lines.map { try JSONDecoder().decode(DeviceLine.self, from: Data($0.utf8)) }
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("\(file) never reached \(count) lines")
        return []
    }

    @Test(arguments: TestDatabase.backends)
    func fileDeviceGetsVaultsFormat(_ backend: TestBackend) async throws {
        let directory = NSTemporaryDirectory() + "coffer-devices-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withUnsealedServer(backend, flags: .init(auditDeviceDir: directory)) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                // Out of bounds: another directory, '..', an unknown type, Coffer's own path, a socket nobody allowed.
                for (options, type) in [
                    (["file_path": "/tmp/elsewhere.log"], "file"), (["file_path": "../escape.log"], "file"),
                    (["file_path": "x.log"], "syslog"), (["address": "127.0.0.1:9"], "socket")
                ] {
                    let (status, body) = try await client.call("/v1/sys/audit/bad", .put, token: root, ["type": type, "options": options])
                    #expect(status == .badRequest, "\(type) \(options): \(body)")
                }
                #expect(
                    try await client.call("/v1/sys/audit/coffer", .put, token: root, ["type": "file", "options": ["file_path": "c.log"]]).0
                        == .badRequest)
                let reader = try await client.createToken(parent: root, ["policies": ["default"]]).token
                #expect(
                    try await client.call("/v1/sys/audit/siem", .put, token: reader, ["type": "file", "options": ["file_path": "x.log"]]).0
                        == .forbidden,
                    "sudo only")

                #expect(
                    try await client.call(
                        "/v1/sys/audit/siem", .put, token: root,
                        ["type": "file", "description": "SIEM", "options": ["file_path": "vault-audit.log"]]
                    ).0 == .noContent)
                let data = try #require(try await client.answer([String: Device].self, "/v1/sys/audit", .get, token: root).1.data)
                #expect(Set(data.keys) == ["coffer/", "siem/"] && data["siem/"]?.type == "file")

                #expect(try await client.call("/v1/secret/data/app/db", token: root, ["data": ["password": "s3cret-device"]]).0 == .ok)
                #expect(try await client.call("/v1/secret/data/app/db", .get, token: root).0 == .ok)
                #expect(try await client.call("/v1/secret/data/app/db", .get, token: "cfs.not-a-token").0 == .forbidden)

                let file = directory + "/vault-audit.log"
                // The enable's own pair, the listing's, then the write, the read and the refused read: ten lines.
                let written = try await lines(file, atLeast: 10)
                let attributes = try FileManager.default.attributesOfItem(atPath: file)
                #expect((attributes[.posixPermissions] as? Int) == 0o600)
                let text = try String(contentsOfFile: file, encoding: .utf8)
                #expect(!text.contains("s3cret-device") && !text.contains(root), "no secret and no token in a device's lines")
                // Vault's shape: a request line then a response line, the token and accessor HMAC'd.
                let read = written.filter { $0.request.path == "secret/data/app/db" }
                #expect(read.map(\.type) == ["request", "response", "request", "response", "request", "response"])
                let request = read[2].request
                #expect(request.operation == "read" && request.namespace.id == "root")
                let token = try #require(request.clientToken)
                let (_, hashed) = try await client.answer(Hashed.self, "/v1/sys/audit-hash/siem", token: root, ["input": root])
                #expect(token.hasPrefix("hmac-sha256:") && hashed.data?.hash == token)
                let values = try #require(read[3].response?.data)
                #expect(values["data"]?.hasPrefix("hmac-sha256:") == true, "the secret only as its HMAC: \(values)")
                #expect(read[5].error != nil, "the refused read is written with its error")

                // A device that cannot be written to any more never fails a request; the trail still records it.
                try FileManager.default.removeItem(atPath: directory)
                #expect(try await client.call("/v1/secret/data/app/db", .get, token: root).0 == .ok)
                #expect(try await client.call("/v1/sys/audit/siem", .delete, token: root).0 == .noContent)
                let after = try await client.answer([String: Device].self, "/v1/sys/audit", .get, token: root).1.data
                #expect(Set(after?.keys ?? [:].keys) == ["coffer/"])
            }
            #expect(try await server.verifyTrail().isIntact)
        }
    }

    /// A socket device receives the same lines over TCP, only at an address the operator allowed.
    @Test func socketDeviceSendsToAnAllowedAddress() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(listener, 4)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let received = Task.detached { () -> String in
            // The enable opens (and closes) one connection to check the address; the lines come on the next.
            var collected: [UInt8] = []
            for _ in 0..<3 where collected.isEmpty {
                let connection = accept(listener, nil, nil)
                defer { close(connection) }
                var buffer = [UInt8](repeating: 0, count: 4096)
                while collected.filter({ $0 == UInt8(ascii: "\n") }).count < 2 {
                    let count = read(connection, &buffer, buffer.count)
                    if count <= 0 { break }
                    collected += buffer[0..<count]
                }
            }
            return String(decoding: collected, as: UTF8.self)
        }
        try await withUnsealedServer(flags: .init(auditDeviceSockets: "127.0.0.1:\(port)")) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let (elsewhere, _) = try await client.call(
                    "/v1/sys/audit/tcp", .put, token: root,
                    ["type": "socket", "options": ["address": "127.0.0.1:\(port + 1)"]])
                #expect(elsewhere == .badRequest)
                #expect(
                    try await client.call(
                        "/v1/sys/audit/tcp", .put, token: root,
                        ["type": "socket", "options": ["address": "127.0.0.1:\(port)", "socket_type": "tcp"]]
                    ).0 == .noContent)
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: root).0 == .ok)
                let text = await received.value
                #expect(text.contains(#""type":"request""#) && text.contains("hmac-sha256:") && !text.contains(root), "\(text)")
            }
        }
    }
}

extension AuditDeviceTests {
    /// A device whose destination hangs (vault#18943: an audit device that hung the server) holds up no request.
    /// The listener is never accepted and has room for one pending connection, which the enable's own check
    /// takes: every connection the device then makes waits out its 2 s timeout, as a peer that stopped reading
    /// makes every send wait. The requests go on being answered while the device falls behind and counts failures.
    @Test func aHungSocketDeviceHoldsUpNoRequest() async throws {
        let path = "/tmp/coffer-hung-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer {
            close(listener)
            unlink(path)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0 && listen(listener, 0) == 0)
        try await withUnsealedServer(flags: .init(auditDeviceSockets: path)) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(
                    try await client.call(
                        "/v1/sys/audit/hung", .put, token: root, ["type": "socket", "options": ["address": path, "socket_type": "unix"]]
                    ).0 == .noContent)
                #expect(try await client.call("/v1/secret/data/hung", .post, token: root, ["data": ["k": "v"]]).0 == .ok)
                let started = ContinuousClock.now
                for _ in 0..<300 {
                    #expect(try await client.call("/v1/secret/data/hung", .get, token: root).0 == .ok)
                }
                let answered = ContinuousClock.now - started
                var counts = server.gate.devices.deliveryCounts()["hung"]
                _ = try await eventually(within: .seconds(10)) {
                    counts = server.gate.devices.deliveryCounts()["hung"]
                    return (counts?.failed ?? 0) > 0
                }
                // Without a stalled write this test would prove nothing.
                #expect((counts?.failed ?? 0) > 0, "the device never stalled: \(String(describing: counts))")
                // A liveness bound, not a performance goal: waiting on the device would cost its 2 s timeout per write.
                #expect(answered < .seconds(30), "300 reads took \(answered) beside a hung audit device")
            }
        }
    }
}

/// An entry of `sys/audit` (keyed by path, `siem/`).
private struct Device: Decodable { let type: String }

/// `sys/audit-hash/<path>`.
private struct Hashed: Decodable { let hash: String }

/// One line a file audit device writes, in Vault's shape: the request, and for a response line the response
/// (values HMAC'd) or the error.
private struct DeviceLine: Decodable {
    struct Request: Decodable {
        struct Namespace: Decodable { let id: String }
        let path: String
        let operation: String
        let namespace: Namespace
        let clientToken: String?

        enum CodingKeys: String, CodingKey {
            case path, operation, namespace
            case clientToken = "client_token"
        }
    }

    struct Response: Decodable { let data: [String: String]? }

    let type: String
    let request: Request
    let response: Response?
    let error: String?
}
