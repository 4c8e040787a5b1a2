import CofferAccess
import CofferCrypto
import CofferFoundation
import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// Vault's KV version 1 API for engines mounted with `version: 1`: `GET`, `PUT`/`POST`, `DELETE` and `LIST`
/// of `/v1/<mount>/<path>`. A version 1 secret may be called anything, including `data/x` or `config`, so the
/// version 2 routes hand a request on a version 1 engine to ``respond(_:_:_:)`` (KVRoutes does).
struct UnversionedKVRoutes: Sendable {
    let store: CredentialStore

    /// Vault's answer to a version 1 path on a version 2 engine: 404 with this warning.
    static let versionedWarning =
        "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. "
        + "If using the Vault CLI, use 'vault kv get' for this operation."

    /// The first segments version 2 gives its paths; a version 1 secret may start with them too.
    static let versionedKinds = ["config", "data", "metadata", "delete", "undelete", "destroy", "subkeys"]

    /// Registers `/v1/<mount>/**`, and, after the version 2 routes, every method they leave free under their
    /// kinds (`GET kv1/delete/x`, `PUT kv1/subkeys/x`, a secret called `data`): the router picks the most specific
    /// path, so without these a version 1 secret under such a name would not be reachable.
    func register(on router: GatedRouter) {
        let methods = [HTTPRequest.Method.get, .delete, GatedRouter.list, .post, .put]
        var paths = ["/v1/:mount", "/v1/:mount/**"]
        for kind in Self.versionedKinds { paths += ["/v1/:mount/\(kind)", "/v1/:mount/\(kind)/**"] }
        for path in paths {
            for method in methods where !router.routes.contains(where: { $0.path == path && $0.method == method }) {
                // A change's request entry commits in the change's own transaction (CredentialStore).
                router.on(path, method: method, operation: [.post, .put].contains(method) ? .write : nil, requestEntry: .withChange) {
                    request, context, grant in try await respond(request, context, grant)
                }
            }
        }
    }

    /// Serves a request whose grant names `<mount>/<path>` on a version 1 engine.
    func respond(_ request: Request, _ context: CofferRequestContext, _ grant: Grant) async throws -> Response {
        let (mount, rest) = parts(grant)
        // `sys`, `auth` and Coffer's other own paths are never an engine: a path under them no route serves is Vault's 404.
        guard !MountStore.reserved.contains(mount) else {
            throw APIError(.notFound, "no handler for route \"\(grant.path)\": route entry not found")
        }
        do {
            switch request.method {
            case _ where request.method == GatedRouter.list || (request.method == .get && request.uri.queryParameters["list"] == "true"):
                let keys = try await store.listUnversioned(grant, mount: mount, folder: rest)
                return VaultJSON.response(status: .ok, VaultEnvelope(data: ["keys": keys]))
            case .get:
                let path = try SecretPath(mount: mount, path: rest)
                guard let secret = try await store.readUnversioned(grant, path) else { throw APIError.missing }
                grant.auditSensitive("data", secret: secret)
                let lease = Self.leaseDuration(secret.bytes)
                return SecretBody.response(
                    status: .ok, prefix: VaultEnvelope<NoData>.prefix(leaseDuration: lease), secret: secret.bytes,
                    suffix: VaultEnvelope<NoData>.suffix)
            case .post, .put:
                let path = try SecretPath(mount: mount, path: rest)
                let body = try await Body.decode(JSONValue.self, request, context)
                guard case .object(let fields) = body else {
                    throw APIError(.badRequest, "the body must be a JSON object of keys and values")
                }
                guard !fields.isEmpty else { throw APIError(.badRequest, "missing data fields: send {\"key\": \"value\"}") }
                var text = try body.encoded()
                defer { text.withUnsafeMutableBytes { Wipe.raw($0) } }
                try await store.writeUnversioned(grant, path, data: SecureHandle(SecureBytes(copying: text)))
                return Response(status: .noContent)
            case .delete:
                try await store.deleteUnversioned(grant, try SecretPath(mount: mount, path: rest))
                return Response(status: .noContent)
            default:
                throw APIError(.methodNotAllowed, "a KV version 1 secret takes GET, PUT, POST, DELETE and LIST")
            }
        } catch AccessError.Code.otherEngineVersion { // this route is version 1, so the engine is version 2
            return VaultJSON.response(status: .notFound, VaultEnvelope<NoData>(data: nil, warnings: [Self.versionedWarning]))
        }
    }

    /// The mount and the path inside it, from the resource the Gate decided on (never the URL).
    private func parts(_ grant: Grant) -> (mount: String, rest: String) {
        let path = grant.path
        guard let slash = path.firstIndex(of: "/") else { return (path, "") }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// Vault's default for a KV version 1 answer's `lease_duration`: the system's maximum lease, 768h.
    static let defaultLeaseDuration: Int64 = 2_764_800

    /// Vault's KV version 1 gives a secret's `ttl` field (a duration) as the answer's `lease_duration`, a hint
    /// for how long a client may cache it; without one (or one that is not a duration), 768h. Only a secret
    /// whose bytes hold `"ttl"` is parsed, since parsing copies its values out of guarded memory.
    static func leaseDuration(_ secret: borrowing SecureBytes) -> Int64 {
        let mentionsTTL = secret.withUnsafeBytes { bytes in
            bytes.count >= 5
                && (0...(bytes.count - 5)).contains {
                    bytes[$0] == 0x22 && bytes[$0 + 1] == 0x74 && bytes[$0 + 2] == 0x74
                        && bytes[$0 + 3] == 0x6C && bytes[$0 + 4] == 0x22
                }
        }
        guard mentionsTTL, let value = secret.withUnsafeBytes({ JSONValue.parse($0) }), case .object(let fields) = value,
            let ttl = fields["ttl"]
        else { return defaultLeaseDuration }
        let text: String
        switch ttl {
        case .string(let string): text = string
        case .integer(let number): text = String(number)
        default: return defaultLeaseDuration
        }
        return (try? Duration.seconds(of: DurationValue(text), field: "ttl")) ?? defaultLeaseDuration
    }
}
