import CofferServerTesting
import CofferTesting
import Foundation
import Testing

/// The CLI against an address where nothing listens: one `Error:` line saying where it tried and what to
/// set, exit status 1, in any build. (A debug build used to trap on NIO's "leaking promise" check with a page
/// of backtrace, because the connection failed before the answer's promise had a channel to complete it.)
struct UnreachableServerTests {
    @Test(arguments: [
        ["status"], ["rotate", "status"], ["rotate", "run", "--dry-run"], ["kv", "get", "app/db"], ["token", "lookup"],
        ["operator", "status"]
    ])
    func aCommandSaysWhereItTriedAndWhatToSet(_ arguments: [String]) async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let address = "http://127.0.0.1:\(try Self.closedPort())"
        let (status, output) = try await CofferProcess.run(
            arguments, in: folder, environment: ["COFFER_ADDR": address, "COFFER_TOKEN": "unused-token"])
        #expect(status == 1, "\(arguments): \(output)")
        #expect(output.contains("cannot reach Coffer at \(address)") && output.contains("COFFER_ADDR"), "\(output)")
        #expect(!output.contains("Fatal error") && !output.contains("Backtrac"), "\(output)")
        #expect(!output.contains("unused-token"))
    }

    /// A loopback port nothing listens on: bound by the kernel's choice, then closed.
    static func closedPort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestSetupError("socket() failed") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        }
        guard bound else { throw TestSetupError("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
