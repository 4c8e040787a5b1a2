public import CofferAccess
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// AppRole at every path it is enabled at (`auth/<mount>/*`, hvac's `auth.approle` with `mount_point=`), in
/// Vault's shapes; and `sys/auth`, which enables, lists, tunes and disables auth methods.
public struct AppRoleRoutes: Sendable {
    let appRole: AppRoleService
    let authMounts: AuthMountStore
    let tokens: TokenRoutes

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(appRole: AppRoleService, authMounts: AuthMountStore, tokens: TokenRoutes) {
        self.appRole = appRole
        self.authMounts = authMounts
        self.tokens = tokens
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        // `auth/token/*` is a constant path, so the router never hands the token method's routes to these.
        let base = "/v1/auth/:mount/role"
        router.onList(base) { _, context, grant in try await listRoles(grant, try mount(context)) }
        router.on("\(base)/:name", method: .get) { _, context, grant in
            guard let role = try await appRole.read(grant, mount: try mount(context), name: try context.parameters.require("name")) else {
                throw APIError.missing
            }
            return VaultJSON.response(status: .ok, VaultEnvelope(data: role))
        }
        router.on("\(base)/:name", method: .delete) { _, context, grant in
            try await appRole.delete(grant, mount: try mount(context), name: try context.parameters.require("name"))
            return Response(status: .noContent)
        }
        router.on("\(base)/:name/role-id", method: .get) { _, context, grant in
            guard let role = try await appRole.read(grant, mount: try mount(context), name: try context.parameters.require("name")) else {
                throw APIError.missing
            }
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["role_id": role.roleID]))
        }
        router.onList("\(base)/:name/secret-id") { _, context, grant in
            try await listSecretIDs(grant, try mount(context), try context.parameters.require("name"))
        }
        router.onWrite("\(base)/:name", operation: .write) { request, context, grant in
            let (mount, name) = (try mount(context), try context.parameters.require("name"))
            let body = try await Body.decodeIfPresent(RoleRequest.self, request, context) ?? RoleRequest()
            var role = try await appRole.read(grant, mount: mount, name: name) ?? AppRoleRole(name: name)
            try body.apply(to: &role)
            try await appRole.write(grant, mount: mount, role)
            return Response(status: .noContent)
        }
        // A role ID of the caller's choosing (Vault's `role-id` write).
        router.onWrite("\(base)/:name/role-id") { request, context, grant in
            let (mount, name) = (try mount(context), try context.parameters.require("name"))
            let body = try await Body.decode(RoleIDRequest.self, request, context)
            guard let roleID = body.role_id, !roleID.isEmpty else { throw APIError(.badRequest, "role_id is required") }
            guard var role = try await appRole.read(grant, mount: mount, name: name) else { throw APIError.missing }
            role.roleID = roleID
            try await appRole.write(grant, mount: mount, role)
            return Response(status: .noContent)
        }
        for custom in [false, true] {
            router.onWrite("\(base)/:name/\(custom ? "custom-secret-id" : "secret-id")") { request, context, grant in
                let (mount, name) = (try mount(context), try context.parameters.require("name"))
                let body = try await Body.decodeIfPresent(SecretIDRequest.self, request, context) ?? SecretIDRequest()
                if custom, body.secret_id?.isEmpty ?? true {
                    throw APIError(.badRequest, "secret_id is required: the secret ID to use")
                }
                let (secretID, entry) = try await appRole.generateSecretID(
                    grant, mount: mount, role: name, custom: custom ? body.secret_id : nil, metadata: try body.metadataObject(),
                    cidrList: body.cidr_list?.items ?? [], ttl: try body.ttl.map { try Duration.seconds(of: $0, field: "ttl") },
                    numUses: body.num_uses)
                return VaultJSON.response(
                    status: .ok,
                    VaultEnvelope(
                        data: SecretIDBody(
                            secret_id: secretID, secret_id_accessor: entry.accessor,
                            secret_id_ttl: entry.expiresAt.map { Int64($0.timeIntervalSince(entry.createdAt).rounded()) } ?? 0,
                            secret_id_num_uses: entry.numUses)))
            }
        }
        // Vault answers 204 for a secret ID it does not know (destroyed, expired or never issued).
        router.onWrite("\(base)/:name/secret-id/lookup") { request, context, grant in
            let body = try await Body.decode(SecretIDLookup.self, request, context)
            guard let secretID = body.secret_id, !secretID.isEmpty else { throw APIError(.badRequest, "secret_id is required") }
            guard
                let entry = try await appRole.lookupSecretID(
                    grant, mount: try mount(context), role: try context.parameters.require("name"),
                    secretID: secretID)
            else { return Response(status: .noContent) }
            return VaultJSON.response(status: .ok, VaultEnvelope(data: entry))
        }
        router.onWrite("\(base)/:name/secret-id/destroy") { request, context, grant in
            let body = try await Body.decode(SecretIDLookup.self, request, context)
            guard let secretID = body.secret_id, !secretID.isEmpty else { throw APIError(.badRequest, "secret_id is required") }
            try await appRole.destroySecretID(
                grant, mount: try mount(context), role: try context.parameters.require("name"), secretID: secretID)
            return Response(status: .noContent)
        }
        router.onWrite("\(base)/:name/secret-id-accessor/lookup") { request, context, grant in
            let body = try await Body.decode(SecretIDLookup.self, request, context)
            guard let accessor = body.secret_id_accessor, !accessor.isEmpty else {
                throw APIError(.badRequest, "secret_id_accessor is required")
            }
            guard
                let entry = try await appRole.lookupSecretID(
                    grant, mount: try mount(context), role: try context.parameters.require("name"),
                    accessor: accessor)
            else { throw APIError.missing }
            return VaultJSON.response(status: .ok, VaultEnvelope(data: entry))
        }
        router.onWrite("\(base)/:name/secret-id-accessor/destroy") { request, context, grant in
            let body = try await Body.decode(SecretIDLookup.self, request, context)
            guard let accessor = body.secret_id_accessor, !accessor.isEmpty else {
                throw APIError(.badRequest, "secret_id_accessor is required")
            }
            try await appRole.destroySecretID(
                grant, mount: try mount(context), role: try context.parameters.require("name"), accessor: accessor)
            return Response(status: .noContent)
        }
        // Done before it answers; 202 with Vault's words, which clients print.
        router.onWrite("/v1/auth/:mount/tidy/secret-id") { _, context, grant in
            try await appRole.tidySecretIDs(grant, mount: try mount(context))
            return VaultJSON.response(
                status: .accepted,
                VaultEnvelope<NoData>(
                    data: nil,
                    warnings: [
                        "Tidy operation successfully started. Any information from the operation will be printed to Coffer's "
                            + "server logs."
                    ]))
        }
        // The secret ID's use, the token and the request's entry commit together (AppRoleService.login).
        router.openWrite("/v1/auth/:mount/login", requestEntry: .withChange) { request, context, grant in
            let body = try await Body.decode(LoginRequest.self, request, context)
            let issued = try await appRole.login(
                grant, mount: try mount(context), roleID: body.role_id ?? "", secretID: body.secret_id ?? "")
            return tokens.authResponse(issued.entry, token: issued.token, leaseDuration: issued.entry.creationTTL)
        }
        router.onWrite("/v1/sys/auth/:path") { request, context, grant in
            let body = try await Body.decode(EnableRequest.self, request, context)
            try await authMounts.enable(
                grant, path: try context.parameters.require("path"), type: body.type, description: body.description ?? "")
            return Response(status: .noContent)
        }
        router.onWrite("/v1/sys/auth/:path/tune") { request, context, grant in
            let body = try await Body.decodeIfPresent(EnableRequest.Tune.self, request, context) ?? .init()
            try await authMounts.tune(grant, path: try context.parameters.require("path"), description: body.description)
            return Response(status: .noContent)
        }
        router.on("/v1/sys/auth", method: .get) { _, _, _ in
            var methods: [String: MountEntry] = ["token/": .token]
            for mount in try await authMounts.list() { methods[mount.key] = MountEntry(mount) }
            // As sys/mounts: the methods at the top level (older clients) and under `data`.
            return VaultJSON.response(status: .ok, MountList(data: methods))
        }
        router.on("/v1/sys/auth/:path", method: .get) { _, context, _ in
            let path = try context.parameters.require("path")
            let method = path == "token" ? MountEntry.token : try await authMounts.mount(path).map(MountEntry.init)
            guard let method else { throw APIError(.badRequest, "no auth method is enabled at auth/\(path)/ (see sys/auth)") }
            return VaultJSON.response(status: .ok, FlatEnvelope(fields: method))
        }
        router.on("/v1/sys/auth/:path/tune", method: .get) { _, context, _ in
            let path = try context.parameters.require("path")
            let method = path == "token" ? MountEntry.token : try await authMounts.mount(path).map(MountEntry.init)
            guard let method else { throw APIError(.badRequest, "no auth method is enabled at auth/\(path)/ (see sys/auth)") }
            return VaultJSON.response(status: .ok, FlatEnvelope(fields: AuthTuneData(description: method.description)))
        }
        router.on("/v1/sys/auth/:path", method: .delete) { _, context, grant in
            try await authMounts.disable(grant, path: try context.parameters.require("path"))
            return Response(status: .noContent)
        }
    }

    /// The auth mount a route names (its first segment after `auth/`).
    private func mount(_ context: CofferRequestContext) throws -> String {
        try context.parameters.require("mount")
    }

    private func listRoles(_ grant: Grant, _ mount: String) async throws -> Response {
        let names = try await appRole.list(grant, mount: mount)
        guard !names.isEmpty else { throw APIError.missing }
        return VaultJSON.response(status: .ok, VaultEnvelope(data: ["keys": names]))
    }

    private func listSecretIDs(_ grant: Grant, _ mount: String, _ role: String) async throws -> Response {
        let accessors = try await appRole.listSecretIDs(grant, mount: mount, role: role)
        guard !accessors.isEmpty else { throw APIError.missing }
        return VaultJSON.response(status: .ok, VaultEnvelope(data: ["keys": accessors]))
    }

    // MARK: bodies

    package struct RoleRequest: Decodable {
        var policies: StringList?
        var token_policies: StringList?
        var token_ttl: DurationValue?
        var token_max_ttl: DurationValue?
        var token_num_uses: Int64?
        var secret_id_ttl: DurationValue?
        var secret_id_num_uses: Int64?
        var secret_id_bound_cidrs: StringList?
        var bound_cidr_list: StringList?
        var token_bound_cidrs: StringList?
        var bind_secret_id: Bool?

        func apply(to role: inout AppRoleRole) throws {
            if bind_secret_id == false {
                throw APIError(.badRequest, "bind_secret_id=false is not supported: a Coffer AppRole login always needs a secret ID")
            }
            if let list = token_policies ?? policies { role.policies = list.items }
            if let value = token_ttl { role.tokenTTL = try Duration.seconds(of: value, field: "token_ttl") }
            if let value = token_max_ttl { role.tokenMaxTTL = try Duration.seconds(of: value, field: "token_max_ttl") }
            if let value = token_num_uses { role.tokenNumUses = value }
            if let value = secret_id_ttl { role.secretIDTTL = try Duration.seconds(of: value, field: "secret_id_ttl") }
            if let value = secret_id_num_uses { role.secretIDNumUses = value }
            if let list = secret_id_bound_cidrs ?? bound_cidr_list { role.secretIDBoundCIDRs = list.items }
            if let list = token_bound_cidrs { role.tokenBoundCIDRs = list.items }
        }
    }

    package struct SecretIDRequest: Decodable {
        var secret_id: String?
        var metadata: String?
        var cidr_list: StringList?
        var ttl: DurationValue?
        var num_uses: Int64?

        /// Vault takes the metadata as a JSON object written as a string.
        func metadataObject() throws -> [String: String]? {
            try metadata.map { text -> [String: String] in
                guard let object = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
                    throw APIError(.badRequest, "metadata must be a JSON object of strings, written as a string (as Vault takes it)")
                }
                return object
            }
        }
    }

    package struct RoleIDRequest: Decodable {
        var role_id: String?
    }

    package struct EnableRequest: Decodable {
        package struct Tune: Decodable {
            var description: String?
        }
        var type: String
        var description: String?
    }

    struct AuthTuneData: Encodable {
        let description: String
        let default_lease_ttl = 2_764_800
        let max_lease_ttl = 2_764_800
        let force_no_cache = false
        let token_type = "default-service"
    }

    package struct SecretIDLookup: Decodable {
        var secret_id: String?
        var secret_id_accessor: String?
    }

    package struct LoginRequest: Decodable {
        var role_id: String?
        var secret_id: String?
    }

    struct SecretIDBody: Encodable {
        let secret_id: String
        let secret_id_accessor: String
        let secret_id_ttl: Int64
        let secret_id_num_uses: Int64
    }
}

/// A role as Vault's AppRole reads it back. The fields Coffer does not offer answer their defaults:
/// no period, no explicit max TTL beyond token_max_ttl, local secret IDs off, the default policy attached.
extension AppRoleRole: Encodable {
    private enum CodingKeys: String, CodingKey {
        case policies = "token_policies", tokenTTL = "token_ttl", tokenMaxTTL = "token_max_ttl"
        case tokenExplicitMaxTTL = "token_explicit_max_ttl", tokenPeriod = "token_period", tokenNumUses = "token_num_uses"
        case tokenNoDefaultPolicy = "token_no_default_policy", tokenStrictlyBindIP = "token_strictly_bind_ip", tokenType = "token_type"
        case secretIDTTL = "secret_id_ttl", secretIDNumUses = "secret_id_num_uses", secretIDBoundCIDRs = "secret_id_bound_cidrs"
        case tokenBoundCIDRs = "token_bound_cidrs", bindSecretID = "bind_secret_id", localSecretIDs = "local_secret_ids"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(policies, forKey: .policies)
        try container.encode(tokenTTL, forKey: .tokenTTL)
        try container.encode(tokenMaxTTL, forKey: .tokenMaxTTL)
        try container.encode(Int64(0), forKey: .tokenExplicitMaxTTL)
        try container.encode(Int64(0), forKey: .tokenPeriod)
        try container.encode(tokenNumUses, forKey: .tokenNumUses)
        try container.encode(false, forKey: .tokenNoDefaultPolicy)
        try container.encode(false, forKey: .tokenStrictlyBindIP)
        try container.encode("default", forKey: .tokenType)
        try container.encode(secretIDTTL, forKey: .secretIDTTL)
        try container.encode(secretIDNumUses, forKey: .secretIDNumUses)
        // Vault answers no bound CIDRs as null here, and as an empty list for the token's.
        try container.encode(secretIDBoundCIDRs.isEmpty ? nil : secretIDBoundCIDRs, forKey: .secretIDBoundCIDRs)
        try container.encode(tokenBoundCIDRs, forKey: .tokenBoundCIDRs)
        try container.encode(true, forKey: .bindSecretID)
        try container.encode(false, forKey: .localSecretIDs)
    }
}

/// `…/secret-id/lookup` as Vault answers it (never the secret ID itself). Times are RFC 3339 as Go's
/// `time.Time` writes them; a secret ID without expiry has Go's zero time.
extension AppRoleSecretID: Encodable {
    private enum CodingKeys: String, CodingKey {
        case accessor = "secret_id_accessor", metadata, cidrList = "cidr_list", numUses = "secret_id_num_uses"
        case createdAt = "creation_time", lastUpdated = "last_updated_time", expiresAt = "expiration_time", ttl = "secret_id_ttl"
        case tokenBoundCIDRs = "token_bound_cidrs"
    }

    public func encode(to encoder: any Encoder) throws {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(accessor, forKey: .accessor)
        try container.encode(metadata ?? [:], forKey: .metadata)
        try container.encode(cidrList, forKey: .cidrList)
        try container.encode(numUses, forKey: .numUses)
        try container.encode(iso.format(createdAt), forKey: .createdAt)
        // Vault's time of the last change to the secret ID's settings; Coffer's are fixed when it is made.
        try container.encode(iso.format(createdAt), forKey: .lastUpdated)
        try container.encode(expiresAt.map { iso.format($0) } ?? "0001-01-01T00:00:00Z", forKey: .expiresAt)
        try container.encode(expiresAt.map { Int64($0.timeIntervalSince(createdAt).rounded()) } ?? 0, forKey: .ttl)
        // Coffer binds tokens through the role's token_bound_cidrs only.
        try container.encode([String](), forKey: .tokenBoundCIDRs)
    }
}
