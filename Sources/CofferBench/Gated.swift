import CofferAccess
import CofferServer
import Foundation

/// One in-process call through the Gate with `token`, as a request for `path` would make it (the suite
/// benches measure the modules' Swift API behind the Gate, not HTTP).
func gated<R: Sendable>(
    _ server: CofferServer, _ token: String, _ path: CanonicalPath, _ operation: GateRequest.Operation,
    _ body: (Grant) async throws -> R
) async throws -> R {
    try await server.gate.perform(
        GateRequest(token: token, path: path, operation: operation, requestID: UUID().uuidString, remoteAddress: "bench"),
        status: { _ in 200 }, body)
}
