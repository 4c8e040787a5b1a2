import ArgumentParser
import CofferAccess
import CofferCrypto
import CofferKeys
import CofferServer
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The service the benches measure: prepared on `url` (an empty database), initialised with a key file
/// and unsealed, listening on a loopback port chosen by the system once served. Returns its root token too.
/// Model artifacts go to a new temporary folder (`server.models.blobs.root`), not the working directory.
func unsealedServer(url: String, label: String, logger: Logger, cacheMemory: Int? = nil) async throws -> (
    server: CofferServer, root: String
) {
    let artifacts = NSTemporaryDirectory() + "coffer-bench-artifacts-" + UUID().uuidString
    let configuration = try ServerConfiguration(
        // The scheduler off: `bench rotate` measures what `make rotate` does with 1,000 due credentials, and a
        // scheduler tick would take some of them first.
        flags: .init(
            listen: "127.0.0.1:0", database: url, artifactPath: artifacts, cacheMemory: cacheMemory.map(String.init),
            rotationScheduler: "false"),
        environment: .init(), file: .init())
    let server = try await CofferServer.prepare(configuration: configuration, logger: logger)
    guard await !server.keys.status.initialized else {
        throw ValidationError("the \(label) database is already initialised: point the bench at an empty database")
    }
    let initialised = try await server.keys.initialize(method: .keyFile)
    guard let key = initialised.keyFileKey else { throw ValidationError("no key") }
    _ = try await server.keys.unseal(with: key.bytes)
    return (server, initialised.rootToken)
}

/// A request made with the root token, to set a bench up through the Gate's Swift API.
func setupRequest(root: String, path: CanonicalPath, operation: GateRequest.Operation) -> GateRequest {
    GateRequest(token: root, path: path, operation: operation, requestID: "bench-setup", remoteAddress: "local")
}

/// Writes the policy `name` through the Gate with the root token, as `coffer policy write` would.
func writePolicy(_ server: CofferServer, root: String, _ name: String, text: String) async throws {
    let path = try CanonicalPath(validating: "sys/policies/acl/" + name)
    _ = try await server.gate.perform(setupRequest(root: root, path: path, operation: .write), status: { _ in 204 }) { grant in
        try await server.gate.policies.write(grant, name, text: text)
    }
}

/// A non-root token with `policy`, as a service would hold, made through the Gate with the root token.
func serviceToken(_ server: CofferServer, root: String, policy: String) async throws -> String {
    try await server.gate.perform(setupRequest(root: root, path: "auth/token/create", operation: .write), status: { _ in 200 }) { grant in
        try await server.gate.tokens.create(grant, TokenRequest(policies: [policy]), orphan: false)
    }.token
}

/// Serves the whole service (`CofferServer.makeApplication`) on its loopback port for `body`, then shuts it
/// down gracefully (or cancels it if `body` throws).
func withServing<T: Sendable>(_ server: CofferServer, logger: Logger, _ body: (_ port: Int) async throws -> T) async throws -> T {
    let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let app = try server.makeApplication { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }
    let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
    let serving = Task { try await group.run() }
    var ports = portStream.makeAsyncIterator()
    guard let port = await ports.next(), port > 0 else {
        serving.cancel()
        throw ValidationError("the bench server did not start")
    }
    let result: T
    do {
        result = try await body(port)
    } catch {
        serving.cancel()
        throw error
    }
    await group.triggerGracefulShutdown()
    try await serving.value
    return result
}
