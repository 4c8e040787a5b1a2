import Foundation
package import CofferServer
import CofferStore
package import CofferTesting

/// Runs `body` with a prepared server (migrated database, no listener) on a fresh database of `backend`,
/// then closes and removes the database whatever happened.
package func withServer(
    _ backend: TestBackend = .sqlite, clusterName: String? = nil, flags: ServerConfiguration.Inputs = .init(),
    _ body: @Sendable (CofferServer) async throws -> Void
) async throws {
    let scratch = try await TestDatabase.create(backend)
    var flags = flags
    flags.database = scratch.url
    flags.clusterName = clusterName
    // Artifacts in a scratch folder of their own (the PostgreSQL default is relative to the working directory),
    // inside a folder of their own, so the default witness file beside them (audit-witness.jsonl) is this server's alone.
    let artifacts = NSTemporaryDirectory() + "coffer-test-" + UUID().uuidString + "/artifacts"
    if flags.artifactPath == nil { flags.artifactPath = artifacts }
    if flags.healthCommandDir == nil { flags.healthCommandDir = "/bin" }
    defer { try? FileManager.default.removeItem(atPath: (artifacts as NSString).deletingLastPathComponent) }
    let configuration = try ServerConfiguration(flags: flags, environment: .init(), file: .init())
    let server = try await CofferServer.prepare(configuration: configuration, logger: TestDatabase.logger)
    do {
        try await body(server)
    } catch {
        await server.database.close()
        try? await scratch.drop()
        throw error
    }
    await server.database.close()
    try await scratch.drop()
}
