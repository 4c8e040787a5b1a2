import CofferAccess
import CofferCredentials
import Foundation
import HTTPTypes
import Hummingbird

/// `sys/mounts`: list, enable, disable and tune KV version 2 engines, in Vault's shapes; and the mount
/// preflight Vault's CLI makes before every `kv` command.
struct MountRoutes: Sendable {
    let mounts: MountStore
    let gate: Gate

    func register(on router: GatedRouter) {
        router.on("/v1/sys/mounts", method: .get) { _, _, _ in
            let all = try await mounts.list()
            var data: [String: MountData] = [:]
            for mount in all { data[mount.key] = MountData(mount) }
            // Vault answers the mounts both at the top level (older clients) and under `data`.
            return VaultJSON.response(status: .ok, MountList(data: data))
        }
        for method in [HTTPRequest.Method.post, .put] {
            router.on("/v1/sys/mounts/:path", method: method) { request, context, grant in
                let path = try context.parameters.require("path")
                let body = try await Body.decode(EnableBody.self, request, context)
                guard body.type == "kv" || body.type == "kv-v2" else {
                    throw APIError(.badRequest, "Coffer mounts KV version 2 engines only: send \"type\": \"kv\" with \"options\": {\"version\": \"2\"}")
                }
                if body.type == "kv", let version = body.options?["version"], version != "2" {
                    throw APIError(.badRequest, "only KV version 2 is supported; options.version must be \"2\"")
                }
                try await mounts.enable(grant, path: path, description: body.description ?? "",
                                        maxVersions: Int64(body.options?["max_versions"] ?? "") ?? 0)
                return Response(status: .noContent)
            }
            router.on("/v1/sys/mounts/:path/tune", method: method) { request, context, grant in
                let path = try context.parameters.require("path")
                let body = try await Body.decodeIfPresent(TuneBody.self, request, context) ?? TuneBody()
                if let version = body.options?["version"], version != "2" {
                    throw APIError(.badRequest, "only KV version 2 is supported; options.version must be \"2\"")
                }
                try await mounts.tune(grant, path: path, description: body.description)
                return Response(status: .noContent)
            }
        }
        router.on("/v1/sys/mounts/:path/tune", method: .get) { _, context, _ in
            let path = try context.parameters.require("path")
            guard let mount = try await mounts.mount(path) else { throw APIError(.badRequest, "no secrets engine is mounted at \(path)/") }
            return VaultJSON.response(status: .ok, FlatEnvelope(fields: TuneData(mount)))
        }
        router.on("/v1/sys/mounts/:path", method: .get) { _, context, _ in
            let path = try context.parameters.require("path")
            guard let mount = try await mounts.mount(path) else { throw APIError(.notFound, []) }
            return VaultJSON.response(status: .ok, FlatEnvelope(fields: MountData(mount)))
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
            let denied = APIError(.forbidden, "preflight capability check returned 403, please ensure client's policies grant access to path \"\(asked)/\"")
            guard let mount = try await mounts.list().first(where: { (asked + "/").hasPrefix($0.key) }),
                  await gate.hasAccess(token: GatedRouter.token(from: request.headers), under: mount.key) else { throw denied }
            return VaultJSON.response(status: .ok, VaultEnvelope(data: PreflightData(mount)))
        }
    }

    /// `sys/internal/ui/mounts/*`: the mount's entry as `sys/mounts` gives it, with its path.
    struct PreflightData: Encodable {
        let entry: MountData
        let path: String

        init(_ mount: KVMount) {
            entry = MountData(mount)
            path = mount.key
        }

        func encode(to encoder: any Encoder) throws {
            try entry.encode(to: encoder)
            var container = encoder.container(keyedBy: DynamicKey.self)
            try container.encode(path, forKey: DynamicKey("path"))
        }
    }

    struct EnableBody: Decodable {
        var type: String
        var description: String?
        var options: [String: String]?
    }

    struct TuneBody: Decodable {
        var description: String?
        var options: [String: String]?
    }

    struct MountData: Encodable {
        let type = "kv"
        let description: String
        let accessor: String
        let options: [String: String]
        let config: [String: Int]
        let local = false
        let seal_wrap = false
        let external_entropy_access = false

        init(_ mount: KVMount) {
            description = mount.description
            accessor = mount.accessor
            options = ["version": "2"]
            config = ["default_lease_ttl": 0, "max_lease_ttl": 0]
        }
    }

    struct TuneData: Encodable {
        let description: String
        let default_lease_ttl = 2_764_800
        let max_lease_ttl = 2_764_800
        let force_no_cache = false
        let options: [String: String]

        init(_ mount: KVMount) {
            description = mount.description
            options = ["version": "2"]
        }
    }

    struct MountList: Encodable {
        let data: [String: MountData]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: DynamicKey.self)
            for (key, value) in data { try container.encode(value, forKey: DynamicKey(key)) }
            try VaultEnvelope(data: data).encode(to: encoder)
        }
    }

    struct DynamicKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
