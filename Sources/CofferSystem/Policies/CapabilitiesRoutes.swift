public import CofferAccess
public import CofferHTTP
import HTTPTypes
import Hummingbird

/// `sys/capabilities-self`, `sys/capabilities` and `sys/capabilities-accessor`, in Vault's shapes: what a token
/// may do on paths, decided by the same ACL the Gate uses. Each path's answer is at the top level and under
/// `data`; a single `path` also answers `capabilities`.
public struct CapabilitiesRoutes: Sendable {
    let gate: Gate

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(gate: Gate) {
        self.gate = gate
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.onWrite("/v1/sys/capabilities-self") { request, context, grant in
            let body = try await Body.decode(PathsBody.self, request, context)
            let paths = try body.requested()
            return answer(Dictionary(paths.map { ($0, grant.capabilityNames(on: $0)) }) { first, _ in first }, single: body.path)
        }
        router.onWrite("/v1/sys/capabilities") { request, context, _ in
            let body = try await Body.decode(PathsBody.self, request, context)
            guard let token = body.token, !token.isEmpty else {
                throw APIError(.badRequest, "token is required: the token whose capabilities to show")
            }
            return answer(try await gate.capabilities(token: token, on: try body.requested()), single: body.path)
        }
        router.onWrite("/v1/sys/capabilities-accessor") { request, context, _ in
            let body = try await Body.decode(PathsBody.self, request, context)
            guard let accessor = body.accessor, !accessor.isEmpty else { throw APIError(.badRequest, "accessor is required") }
            return answer(try await gate.capabilities(accessor: accessor, on: try body.requested()), single: body.path)
        }
    }

    package struct PathsBody: Decodable {
        var path: String?
        var paths: StringList?
        var token: String?
        var accessor: String?

        func requested() throws -> [String] {
            let all = (path.map { [$0] } ?? []) + (paths?.items ?? [])
            guard !all.isEmpty else { throw APIError(.badRequest, "paths is required: the paths to show capabilities on") }
            guard all.count <= 256 else { throw APIError(.badRequest, "at most 256 paths per request") }
            // Policies match paths without a leading slash; Vault strips it too.
            return all.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
        }
    }

    private func answer(_ capabilities: [String: [String]], single: String?) -> Response {
        var fields = capabilities
        if let single { fields["capabilities"] = capabilities[single.hasPrefix("/") ? String(single.dropFirst()) : single] }
        return VaultJSON.response(status: .ok, FlatEnvelope(fields: fields))
    }
}
