public import CofferAccess
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `sys/mounts`: list, enable, disable and tune KV engines (version 1 or 2), in Vault's shapes; and the mount
/// preflight Vault's CLI makes before every `kv` command.
public struct MountRoutes: Sendable {
    let mounts: MountStore
    let gate: Gate

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(mounts: MountStore, gate: Gate) {
        self.mounts = mounts
        self.gate = gate
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.on("/v1/sys/mounts", method: .get) { _, _, _ in
            let all = try await mounts.list()
            var data: [String: MountEntry] = [:]
            for mount in all { data[mount.key] = MountEntry(mount) }
            // Vault answers the mounts both at the top level (older clients) and under `data`.
            return VaultJSON.response(status: .ok, MountList(data: data))
        }
        router.onWrite("/v1/sys/mounts/:path") { request, context, grant in
            let path = try context.parameters.require("path")
            let body = try await Body.decode(EnableBody.self, request, context)
            try await mounts.enable(
                grant, path: path, version: try body.engineVersion(), description: body.description ?? "",
                maxVersions: Int64(body.options?["max_versions"] ?? "") ?? 0)
            return Response(status: .noContent)
        }
        router.onWrite("/v1/sys/mounts/:path/tune") { request, context, grant in
            let path = try context.parameters.require("path")
            let body = try await Body.decodeIfPresent(TuneBody.self, request, context) ?? TuneBody()
            let version = try body.options?["version"].map { text -> Int in
                guard let version = Int(text), version == 1 || version == 2 else {
                    throw APIError(.badRequest, "options.version must be 1 or 2 (2 upgrades a KV version 1 engine)")
                }
                return version
            }
            if try await mounts.tune(grant, path: path, version: version, description: body.description) {
                // Vault answers an upgrade with a warning; Coffer's is done when it answers (one column changes).
                return VaultJSON.response(
                    status: .ok,
                    VaultEnvelope<NoData>(
                        data: nil,
                        warnings: [
                            "Upgraded mount \(path)/ from KV version 1 to version 2: each secret's value is now its current version"
                        ]))
            }
            return Response(status: .noContent)
        }
        router.on("/v1/sys/mounts/:path/tune", method: .get) { _, context, _ in
            let path = try context.parameters.require("path")
            guard let mount = try await mounts.mount(path) else { throw APIError(.badRequest, "no secrets engine is mounted at \(path)/") }
            return VaultJSON.response(status: .ok, FlatEnvelope(fields: TuneData(mount)))
        }
        router.on("/v1/sys/mounts/:path", method: .get) { _, context, _ in
            let path = try context.parameters.require("path")
            guard let mount = try await mounts.mount(path) else { throw APIError.missing }
            return VaultJSON.response(status: .ok, FlatEnvelope(fields: MountEntry(mount)))
        }
        router.on("/v1/sys/mounts/:path", method: .delete) { _, context, grant in
            try await mounts.disable(grant, path: try context.parameters.require("path"))
            return Response(status: .noContent)
        }
        // Which engine and KV version serve a path (`vault kv get secret/app/db` asks for `secret/app/db`). As in
        // Vault the path needs no policy of its own: the answer is given to a token that may use something
        // under the mount, and the same 403 answers an unknown mount and a mount the token may not use, so the
        // route cannot be used to find out which mounts exist.
        router.open("/v1/sys/internal/ui/mounts/**", method: .get) { request, _, grant in
            let asked = grant.resource.segments.dropFirst(4).joined(separator: "/")
            guard !asked.isEmpty else { throw APIError(.badRequest, "path not set: ask for sys/internal/ui/mounts/<path>") }
            let denied = APIError(
                .forbidden, "preflight capability check returned 403, please ensure client's policies grant access to path \"\(asked)/\"")
            guard let mount = try await mounts.list().first(where: { (asked + "/").hasPrefix($0.key) }),
                await gate.hasAccess(token: GatedRouter.token(from: request.headers), under: mount.key)
            else { throw denied }
            return VaultJSON.response(status: .ok, VaultEnvelope(data: PreflightData(mount)))
        }
    }

    /// `sys/internal/ui/mounts/*`: the mount's entry as `sys/mounts` gives it, with its path.
    struct PreflightData: Encodable {
        let entry: MountEntry
        let path: String

        init(_ mount: KVMount) {
            entry = MountEntry(mount)
            path = mount.key
        }

        func encode(to encoder: any Encoder) throws {
            try entry.encode(to: encoder)
            var container = encoder.container(keyedBy: DynamicKey.self)
            try container.encode(path, forKey: DynamicKey("path"))
        }
    }

    package struct EnableBody: Decodable {
        var type: String
        var description: String?
        var options: [String: String]?

        /// Vault's reading of the engine type: `kv` is version 1 unless `options.version` says 2; `kv-v2` is 2.
        func engineVersion() throws -> Int {
            let supported =
                "Coffer offers the KV secrets engine: send \"type\": \"kv\" (with \"options\": {\"version\": \"2\"} for versions "
                + "and metadata) or \"kv-v2\"; the database engine is built in at database/"
            switch (type, options?["version"]) {
            case ("kv", nil), ("kv", "1"), ("kv-v1", nil), ("kv-v1", "1"): return 1
            case ("kv", "2"), ("kv-v2", nil), ("kv-v2", "2"): return 2
            case ("kv", _), ("kv-v1", _), ("kv-v2", _): throw APIError(.badRequest, "options.version must be 1 or 2 for a KV engine")
            default: throw APIError(.badRequest, "no secrets engine of type \"\(type)\": \(supported)")
            }
        }
    }

    package struct TuneBody: Decodable {
        var description: String?
        var options: [String: String]?
    }

    struct TuneData: Encodable {
        let description: String
        let default_lease_ttl = 2_764_800
        let max_lease_ttl = 2_764_800
        let force_no_cache = false
        let options: [String: String]

        init(_ mount: KVMount) {
            description = mount.description
            options = ["version": String(mount.version)]
        }
    }
}
