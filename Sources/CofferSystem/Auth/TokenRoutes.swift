public import CofferAccess
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `auth/token/*` in Vault's shapes (hvac's `auth.token`): create (also from a role), lookup, renew, revoke,
/// and token roles.
public struct TokenRoutes: Sendable {
    let tokens: TokenService
    let roles: TokenRoleStore

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(tokens: TokenService, roles: TokenRoleStore) {
        self.tokens = tokens
        self.roles = roles
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.onList("/v1/auth/token/roles") { _, _, grant in
            let names = try await roles.list(grant)
            guard !names.isEmpty else { throw APIError.missing }
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["keys": names]))
        }
        router.on("/v1/auth/token/roles/:name", method: .get) { _, context, grant in
            guard let role = try await roles.read(grant, name: try context.parameters.require("name")) else { throw APIError.missing }
            return VaultJSON.response(status: .ok, VaultEnvelope(data: role))
        }
        router.on("/v1/auth/token/roles/:name", method: .delete) { _, context, grant in
            try await roles.delete(grant, name: try context.parameters.require("name"))
            return Response(status: .noContent)
        }
        router.onWrite("/v1/auth/token/roles/:name", operation: .write) { request, context, grant in
            let name = try context.parameters.require("name")
            let body = try await Body.decodeIfPresent(RoleBody.self, request, context) ?? RoleBody()
            var role = try await roles.read(grant, name: name) ?? TokenRole(name: name)
            try body.apply(to: &role)
            try await roles.write(grant, role)
            return Response(status: .noContent)
        }
        // A token's row commits with the request's entry (TokenService.create).
        router.onWrite("/v1/auth/token/create/:role", requestEntry: .withChange) { request, context, grant in
            let name = try context.parameters.require("role")
            guard let role = try await roles.read(grant, name: name) else { throw APIError(.badRequest, "unknown role \(name)") }
            return try await create(request, context, grant, orphan: role.orphan, role: role)
        }
        router.onWrite("/v1/auth/token/create", requestEntry: .withChange) { request, context, grant in
            try await create(request, context, grant, orphan: false)
        }
        router.onWrite("/v1/auth/token/create-orphan", requestEntry: .withChange) { request, context, grant in
            try await create(request, context, grant, orphan: true)
        }
        router.onWrite("/v1/auth/token/lookup") { request, context, grant in
            let body = try await Body.decode(TokenBody.self, request, context)
            guard let token = body.token, !token.isEmpty else { throw APIError(.badRequest, "token is required") }
            // Vault answers an unknown token here with 403 "bad token".
            guard let entry = try await tokens.lookup(grant, token: token) else { throw APIError(.forbidden, "bad token") }
            return lookupResponse(entry, id: token)
        }
        router.onWrite("/v1/auth/token/lookup-self", operation: .read) { request, _, grant in
            try lookupSelf(grant, request: request)
        }
        router.onWrite("/v1/auth/token/lookup-accessor") { request, context, grant in
            let body = try await Body.decode(AccessorBody.self, request, context)
            guard let accessor = body.accessor, !accessor.isEmpty else { throw APIError(.badRequest, "accessor is required") }
            guard let entry = try await tokens.lookup(grant, accessor: accessor) else {
                throw APIError(.badRequest, "invalid accessor")
            }
            return lookupResponse(entry, id: "")
        }
        router.onWrite("/v1/auth/token/renew-self") { request, context, grant in
            let body = try await Body.decodeIfPresent(RenewBody.self, request, context) ?? RenewBody()
            guard let caller = grant.token else { throw AccessError.permissionDenied() }
            // Vault echoes the caller's own token in `auth.client_token`.
            return try await renew(
                grant, accessor: caller.accessor, increment: body.increment, token: GatedRouter.token(from: request.headers))
        }
        router.onWrite("/v1/auth/token/renew") { request, context, grant in
            let body = try await Body.decode(RenewBody.self, request, context)
            guard let token = body.token, !token.isEmpty else { throw APIError(.badRequest, "token is required") }
            guard let entry = try await tokens.lookup(grant, token: token) else { throw APIError(.badRequest, "token not found") }
            // Vault answers with the renewed token in `auth.client_token`.
            grant.auditSensitive("client_token", token)
            return try await renew(grant, accessor: entry.accessor, increment: body.increment, token: token)
        }
        router.onWrite("/v1/auth/token/renew-accessor") { request, context, grant in
            let body = try await Body.decode(RenewBody.self, request, context)
            guard let accessor = body.accessor, !accessor.isEmpty else { throw APIError(.badRequest, "accessor is required") }
            return try await renew(grant, accessor: accessor, increment: body.increment, token: nil)
        }
        router.onWrite("/v1/auth/token/revoke") { request, context, grant in
            let body = try await Body.decode(TokenBody.self, request, context)
            guard let token = body.token, !token.isEmpty else { throw APIError(.badRequest, "token is required") }
            try await tokens.revoke(grant, token: token)
            return Response(status: .noContent)
        }
        router.onWrite("/v1/auth/token/revoke-self") { _, _, grant in
            guard let token = grant.token else { throw AccessError.permissionDenied() }
            try await tokens.revoke(grant, accessor: token.accessor)
            return Response(status: .noContent)
        }
        router.onWrite("/v1/auth/token/revoke-accessor") { request, context, grant in
            let body = try await Body.decode(AccessorBody.self, request, context)
            guard let accessor = body.accessor, !accessor.isEmpty else { throw APIError(.badRequest, "accessor is required") }
            try await tokens.revoke(grant, accessor: accessor)
            return Response(status: .noContent)
        }
        router.onWrite("/v1/auth/token/revoke-orphan", access: .sudo) { request, context, grant in
            let body = try await Body.decode(TokenBody.self, request, context)
            guard let token = body.token, !token.isEmpty else { throw APIError(.badRequest, "token is required") }
            try await tokens.revokeOrphan(grant, token: token)
            return Response(status: .noContent)
        }
        router.on("/v1/auth/token/lookup-self", method: .get) { request, _, grant in try lookupSelf(grant, request: request) }
    }

    // MARK: handlers

    private func create(_ request: Request, _ context: CofferRequestContext, _ grant: Grant, orphan: Bool, role: TokenRole? = nil)
        async throws -> Response
    {
        let body = try await Body.decodeIfPresent(CreateBody.self, request, context) ?? CreateBody()
        let tokenRequest = TokenRequest(
            policies: body.policies, meta: body.meta, displayName: body.display_name,
            ttl: try body.ttl.map { try Duration.seconds(of: $0, field: "ttl") },
            explicitMaxTTL: try body.explicit_max_ttl.map { try Duration.seconds(of: $0, field: "explicit_max_ttl") },
            numUses: body.num_uses ?? 0, renewable: body.renewable ?? true, noParent: body.no_parent ?? false,
            noDefaultPolicy: body.no_default_policy ?? false, period: try body.period.map { try Duration.seconds(of: $0, field: "period") })
        let issued = try await tokens.create(
            grant, tokenRequest, orphan: orphan, role: role,
            path: orphan ? "auth/token/create-orphan" : "auth/token/create")
        // The TTL as granted (Vault's `lease_duration`), not what is left a moment later.
        return authResponse(issued.entry, token: issued.token, leaseDuration: issued.entry.creationTTL)
    }

    private func lookupSelf(_ grant: Grant, request: Request) throws -> Response {
        guard let entry = grant.token else { throw AccessError.permissionDenied() }
        // The caller's own token, echoed as `id` as Vault does (clients read it back); the audit entry keeps
        // only its hash.
        let token = GatedRouter.token(from: request.headers) ?? ""
        grant.auditSensitive("id", token)
        return lookupResponse(entry, id: token)
    }

    private func renew(_ grant: Grant, accessor: String, increment: DurationValue?, token: String?) async throws -> Response {
        let seconds = try increment.map { try Duration.seconds(of: $0, field: "increment") }
        guard let (entry, granted) = try await tokens.renew(grant, accessor: accessor, increment: seconds) else {
            throw APIError(.badRequest, "token not found")
        }
        return authResponse(entry, token: token ?? "", leaseDuration: granted)
    }

    // MARK: bodies

    package struct CreateBody: Decodable {
        var policies: [String]?
        var meta: [String: String]?
        var display_name: String?
        var ttl: DurationValue?
        var explicit_max_ttl: DurationValue?
        var num_uses: Int64?
        var renewable: Bool?
        var no_parent: Bool?
        var no_default_policy: Bool?
        var period: DurationValue?
    }

    /// A token role as Vault takes it; `token_period` and `token_explicit_max_ttl` are the newer names.
    package struct RoleBody: Decodable {
        var allowed_policies: StringList?
        var disallowed_policies: StringList?
        var orphan: Bool?
        var renewable: Bool?
        var period: DurationValue?
        var token_period: DurationValue?
        var explicit_max_ttl: DurationValue?
        var token_explicit_max_ttl: DurationValue?
        var path_suffix: String?
        var token_no_default_policy: Bool?

        func apply(to role: inout TokenRole) throws {
            if let list = allowed_policies { role.allowedPolicies = list.items }
            if let list = disallowed_policies { role.disallowedPolicies = list.items }
            if let orphan { role.orphan = orphan }
            if let renewable { role.renewable = renewable }
            if let value = token_period ?? period { role.period = try Duration.seconds(of: value, field: "token_period") }
            if let value = token_explicit_max_ttl ?? explicit_max_ttl {
                role.explicitMaxTTL = try Duration.seconds(of: value, field: "token_explicit_max_ttl")
            }
            if let path_suffix { role.pathSuffix = path_suffix }
            if let token_no_default_policy { role.noDefaultPolicy = token_no_default_policy }
        }
    }

    /// A token role as Vault reads it back, with both the older and the newer field names. Glob policies and
    /// entity aliases are Vault features Coffer does not offer: they read back empty.
    package struct TokenBody: Decodable { var token: String? }
    package struct AccessorBody: Decodable { var accessor: String? }
    package struct RenewBody: Decodable {
        var token: String?
        var accessor: String?
        var increment: DurationValue?
    }

    // MARK: answers

    private struct AuthBody: Encodable {
        struct Auth: Encodable {
            let client_token: String
            let accessor: String
            let policies: [String]
            let token_policies: [String]
            @EncodesNull var metadata: [String: String]?
            let lease_duration: Int64
            let renewable: Bool
            let entity_id: String
            let token_type: String
            let orphan: Bool
            let num_uses: Int64
            @EncodesNull var mfa_requirement: NoData? = nil
        }
        let request_id = RequestScope.id
        let lease_id = ""
        let renewable = false
        let lease_duration = 0
        @EncodesNull var data: NoData? = nil
        @EncodesNull var wrap_info: NoData? = nil
        @EncodesNull var warnings: [String]? = nil
        let auth: Auth
    }

    func authResponse(_ entry: TokenEntry, token: String, leaseDuration: Int64) -> Response {
        VaultJSON.response(
            status: .ok,
            AuthBody(
                auth: .init(
                    client_token: token, accessor: entry.accessor, policies: entry.policies, token_policies: entry.policies,
                    metadata: entry.meta, lease_duration: leaseDuration, renewable: entry.renewable, entity_id: "",
                    token_type: "service", orphan: entry.orphan, num_uses: entry.numUses)))
    }

    /// A token lookup's `data`, in Vault's envelope, with Vault's rules for which fields a token has.
    private enum LookupBody {
        struct Data: Encodable {
            let accessor: String
            let creation_time: Int64
            let creation_ttl: Int64
            let display_name: String
            let entity_id: String
            let expire_time: String?
            let explicit_max_ttl: Int64
            let id: String
            let issue_time: String
            /// Present once the token has been renewed, as in Vault.
            let last_renewal: String?
            let last_renewal_time: Int64?
            @EncodesNull var meta: [String: String]?
            let num_uses: Int64
            let orphan: Bool
            let path: String
            /// Present for a periodic token.
            let period: Int64?
            let policies: [String]
            let renewable: Bool
            /// Present for a token made from a role.
            let role: String?
            let ttl: Int64
            let type: String

            enum CodingKeys: String, CodingKey {
                case accessor, creation_time, creation_ttl, display_name, entity_id, expire_time, explicit_max_ttl, id, issue_time,
                    last_renewal, last_renewal_time, meta, num_uses, orphan, path, period, policies, renewable, role, ttl, type
            }

            func encode(to encoder: any Encoder) throws {
                var out = encoder.container(keyedBy: CodingKeys.self)
                try out.encode(accessor, forKey: .accessor)
                try out.encode(creation_time, forKey: .creation_time)
                try out.encode(creation_ttl, forKey: .creation_ttl)
                try out.encode(display_name, forKey: .display_name)
                try out.encode(entity_id, forKey: .entity_id)
                // Vault: `expire_time` is null for a token without a TTL, and such a token (it has no lease) has
                // no `issue_time` and no `renewable`.
                try out.encode(expire_time, forKey: .expire_time)
                try out.encode(explicit_max_ttl, forKey: .explicit_max_ttl)
                try out.encode(id, forKey: .id)
                if expire_time != nil {
                    try out.encode(issue_time, forKey: .issue_time)
                    try out.encode(renewable, forKey: .renewable)
                }
                try out.encodeIfPresent(last_renewal, forKey: .last_renewal)
                try out.encodeIfPresent(last_renewal_time, forKey: .last_renewal_time)
                try out.encode(meta, forKey: .meta)
                try out.encode(num_uses, forKey: .num_uses)
                try out.encode(orphan, forKey: .orphan)
                try out.encode(path, forKey: .path)
                try out.encodeIfPresent(period, forKey: .period)
                try out.encode(policies, forKey: .policies)
                try out.encodeIfPresent(role, forKey: .role)
                try out.encode(ttl, forKey: .ttl)
                try out.encode(type, forKey: .type)
            }
        }
    }

    private func lookupResponse(_ entry: TokenEntry, id: String) -> Response {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return VaultJSON.response(
            status: .ok,
            VaultEnvelope(
                data: LookupBody.Data(
                    accessor: entry.accessor, creation_time: Int64(entry.createdAt.timeIntervalSince1970), creation_ttl: entry.creationTTL,
                    display_name: entry.displayName, entity_id: "", expire_time: entry.expiresAt.map { iso.format($0) },
                    explicit_max_ttl: entry.explicitMaxTTL, id: id, issue_time: iso.format(entry.createdAt),
                    last_renewal: entry.lastRenewalAt.map { iso.format($0) },
                    last_renewal_time: entry.lastRenewalAt.map { Int64($0.timeIntervalSince1970) },
                    meta: entry.meta, num_uses: entry.numUses, orphan: entry.orphan, path: entry.path,
                    period: entry.period > 0 ? entry.period : nil,
                    policies: entry.policies, renewable: entry.renewable, role: entry.role, ttl: entry.ttl(at: WallClock.now),
                    type: "service")))
    }
}

/// `auth/token/roles/:name` as Vault answers it. Vault's fields Coffer does not offer answer their defaults:
/// no policy globs or entity aliases, service tokens.
extension TokenRole: Encodable {
    private enum CodingKeys: String, CodingKey {
        case name, allowedPolicies = "allowed_policies", allowedPoliciesGlob = "allowed_policies_glob"
        case disallowedPolicies = "disallowed_policies", disallowedPoliciesGlob = "disallowed_policies_glob"
        case allowedEntityAliases = "allowed_entity_aliases", orphan, renewable, period, tokenPeriod = "token_period"
        case explicitMaxTTL = "explicit_max_ttl", tokenExplicitMaxTTL = "token_explicit_max_ttl", pathSuffix = "path_suffix"
        case noDefaultPolicy = "token_no_default_policy", tokenType = "token_type"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(allowedPolicies, forKey: .allowedPolicies)
        try container.encode([String](), forKey: .allowedPoliciesGlob)
        try container.encode(disallowedPolicies, forKey: .disallowedPolicies)
        try container.encode([String](), forKey: .disallowedPoliciesGlob)
        try container.encodeNil(forKey: .allowedEntityAliases)
        try container.encode(orphan, forKey: .orphan)
        try container.encode(renewable, forKey: .renewable)
        // Vault answers the period twice: `period` (the legacy name) and `token_period`.
        try container.encode(period, forKey: .period)
        try container.encode(period, forKey: .tokenPeriod)
        try container.encode(explicitMaxTTL, forKey: .explicitMaxTTL)
        try container.encode(explicitMaxTTL, forKey: .tokenExplicitMaxTTL)
        try container.encode(pathSuffix, forKey: .pathSuffix)
        try container.encode(noDefaultPolicy, forKey: .noDefaultPolicy)
        try container.encode("default-service", forKey: .tokenType)
    }
}
