package import CofferAccess
import CofferCrypto
import CofferFoundation
import CofferKeys
package import CofferServer
import CofferStore
package import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting

/// A prepared, initialised and unsealed server and its root token, for tests of routes behind the Gate. With
/// `time`, the server runs on that clock: a test moves it past a TTL instead of sleeping.
package func withUnsealedServer(
    _ backend: TestBackend = .sqlite, auditTimeout: String? = nil, auditWitness: String? = nil,
    flags: ServerConfiguration.Inputs = .init(), time: ManualTime? = nil,
    _ body: @Sendable (CofferServer, String) async throws -> Void
) async throws {
    var flags = flags
    flags.auditWitness = auditWitness ?? flags.auditWitness
    flags.auditTimeout = auditTimeout ?? flags.auditTimeout
    try await WallClock.$source.withValue(time ?? WallClock.source) {
        try await withServer(backend, flags: flags) { server in
            let initialised = try await server.keys.initialize(method: .keyFile)
            _ = try await server.keys.unseal(
                with: try required(initialised.keyFileKey, "the key file key of a key-file initialisation").bytes)
            try await body(server, initialised.rootToken)
        }
    }
}

/// Two servers prepared on one scratch PostgreSQL database (as two instances would be), each with its own artifact
/// folder (and so its own witness file); neither initialised nor unsealed.
package func withTwoServers(_ body: @Sendable (CofferServer, CofferServer) async throws -> Void) async throws {
    let scratch = try await TestDatabase.create(.postgres)
    let folder = try TestDatabase.temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    func server(_ name: String) async throws -> CofferServer {
        var flags = ServerConfiguration.Inputs()
        flags.database = scratch.url
        flags.artifactPath = "\(folder)/\(name)/artifacts"
        flags.healthCommandDir = "/bin"
        return try await CofferServer.prepare(
            configuration: try ServerConfiguration(flags: flags, environment: .init(), file: .init()),
            logger: TestDatabase.logger)
    }
    let first = try await server("a"), second = try await server("b")
    do { try await body(first, second) } catch {
        await first.database.close()
        await second.database.close()
        try? await scratch.drop()
        throw error
    }
    await first.database.close()
    await second.database.close()
    try await scratch.drop()
}

extension CofferServer {
    /// The audit trail's verdict on itself.
    package func verifyTrail() async throws -> AuditChain.Finding {
        try await AuditTrail(database: database).verify(publicKey: try await gate.auditPublicKey(), witnessed: []).finding
    }
}
