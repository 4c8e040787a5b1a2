import CofferAccess
import Foundation
import HTTPTypes
import Hummingbird

/// `auth/approle/*` in Vault's shapes (hvac's `auth.approle`), and `sys/auth`, which lists the two methods.
struct AppRoleRoutes: Sendable {
    let appRole: AppRoleService
    let tokens: TokenRoutes

    func register(on router: GatedRouter) {
        let base = "/v1/auth/approle/role"
        router.onList(base) { _, _, grant in try await listRoles(grant) }
        router.on("\(base)/:name", method: .get) { _, context, grant in
            let name = try context.parameters.require("name")
            guard let role = try await appRole.read(grant, name: name) else { throw APIError(.notFound, []) }
            return VaultJSON.response(status: .ok, ["data": RoleBody(role)])
        }
        router.on("\(base)/:name", method: .delete) { _, context, grant in
            try await appRole.delete(grant, name: try context.parameters.require("name"))
            return Response(status: .noContent)
        }
        router.on("\(base)/:name/role-id", method: .get) { _, context, grant in
            guard let role = try await appRole.read(grant, name: try context.parameters.require("name")) else { throw APIError(.notFound, []) }
            return VaultJSON.response(status: .ok, ["data": ["role_id": role.roleID]])
        }
        router.onList("\(base)/:name/secret-id") { _, context, grant in
            try await listSecretIDs(grant, try context.parameters.require("name"))
        }
        for method in [HTTPRequest.Method.post, .put] {
            router.on("\(base)/:name", method: method, operation: .write) { request, context, grant in
                let name = try context.parameters.require("name")
                let body = try await Body.decodeIfPresent(RoleRequest.self, request, context) ?? RoleRequest()
                var role = try await appRole.read(grant, name: name) ?? AppRoleRole(name: name)
                try body.apply(to: &role)
                try await appRole.write(grant, role)
                return Response(status: .noContent)
            }
            router.on("\(base)/:name/secret-id", method: method) { request, context, grant in
                let name = try context.parameters.require("name")
                let body = try await Body.decodeIfPresent(SecretIDRequest.self, request, context) ?? SecretIDRequest()
                let metadata = try body.metadata.map { text -> [String: String] in
                    guard let object = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
                        throw APIError(.badRequest, "metadata must be a JSON object of strings, written as a string (as Vault takes it)")
                    }
                    return object
                }
                let (secretID, entry) = try await appRole.generateSecretID(
                    grant, role: name, metadata: metadata, cidrList: body.cidr_list?.items ?? [],
                    ttl: try body.ttl.map { try Duration.seconds(of: $0, field: "ttl") }, numUses: body.num_uses)
                return VaultJSON.response(status: .ok, ["data": SecretIDBody(
                    secret_id: secretID, secret_id_accessor: entry.accessor,
                    secret_id_ttl: entry.expiresAt.map { Int64($0.timeIntervalSince(entry.createdAt).rounded()) } ?? 0,
                    secret_id_num_uses: entry.numUses)])
            }
            router.on("\(base)/:name/secret-id/lookup", method: method) { request, context, grant in
                let body = try await Body.decode(SecretIDLookup.self, request, context)
                guard let secretID = body.secret_id, !secretID.isEmpty else { throw APIError(.badRequest, "secret_id is required") }
                guard let entry = try await appRole.lookupSecretID(grant, role: try context.parameters.require("name"), secretID: secretID) else {
                    throw APIError(.notFound, [])
                }
                return VaultJSON.response(status: .ok, ["data": SecretIDInfo(entry)])
            }
            router.on("\(base)/:name/secret-id/destroy", method: method) { request, context, grant in
                let body = try await Body.decode(SecretIDLookup.self, request, context)
                guard let secretID = body.secret_id, !secretID.isEmpty else { throw APIError(.badRequest, "secret_id is required") }
                try await appRole.destroySecretID(grant, role: try context.parameters.require("name"), secretID: secretID)
                return Response(status: .noContent)
            }
            router.on("\(base)/:name/secret-id-accessor/lookup", method: method) { request, context, grant in
                let body = try await Body.decode(SecretIDLookup.self, request, context)
                guard let accessor = body.secret_id_accessor, !accessor.isEmpty else { throw APIError(.badRequest, "secret_id_accessor is required") }
                guard let entry = try await appRole.lookupSecretID(grant, role: try context.parameters.require("name"), accessor: accessor) else {
                    throw APIError(.notFound, [])
                }
                return VaultJSON.response(status: .ok, ["data": SecretIDInfo(entry)])
            }
            router.on("\(base)/:name/secret-id-accessor/destroy", method: method) { request, context, grant in
                let body = try await Body.decode(SecretIDLookup.self, request, context)
                guard let accessor = body.secret_id_accessor, !accessor.isEmpty else { throw APIError(.badRequest, "secret_id_accessor is required") }
                try await appRole.destroySecretID(grant, role: try context.parameters.require("name"), accessor: accessor)
                return Response(status: .noContent)
            }
            router.open("/v1/auth/approle/login", method: method) { request, context, grant in
                let body = try await Body.decode(LoginRequest.self, request, context)
                let issued = try await appRole.login(grant, roleID: body.role_id ?? "", secretID: body.secret_id ?? "")
                return tokens.authResponse(issued.entry, token: issued.token, leaseDuration: issued.entry.creationTTL)
            }
        }
        router.on("/v1/sys/auth", method: .get) { _, _, _ in
            let methods: [String: [String: String]] = [
                "token/": ["type": "token", "description": "token based credentials", "accessor": "auth_token"],
                "approle/": ["type": "approle", "description": "machine login with a role ID and a secret ID", "accessor": "auth_approle"],
            ]
            return VaultJSON.response(status: .ok, ["data": methods])
        }
    }

    private func listRoles(_ grant: Grant) async throws -> Response {
        let names = try await appRole.list(grant)
        guard !names.isEmpty else { throw APIError(.notFound, []) }
        return VaultJSON.response(status: .ok, ["data": ["keys": names]])
    }

    private func listSecretIDs(_ grant: Grant, _ role: String) async throws -> Response {
        let accessors = try await appRole.listSecretIDs(grant, role: role)
        guard !accessors.isEmpty else { throw APIError(.notFound, []) }
        return VaultJSON.response(status: .ok, ["data": ["keys": accessors]])
    }

    // MARK: bodies

    struct RoleRequest: Decodable {
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

    struct SecretIDRequest: Decodable {
        var metadata: String?
        var cidr_list: StringList?
        var ttl: DurationValue?
        var num_uses: Int64?
    }

    struct SecretIDLookup: Decodable {
        var secret_id: String?
        var secret_id_accessor: String?
    }

    struct LoginRequest: Decodable {
        var role_id: String?
        var secret_id: String?
    }

    struct RoleBody: Encodable {
        let token_policies: [String]
        let policies: [String]
        let token_ttl: Int64
        let token_max_ttl: Int64
        let token_num_uses: Int64
        let secret_id_ttl: Int64
        let secret_id_num_uses: Int64
        let secret_id_bound_cidrs: [String]
        let token_bound_cidrs: [String]
        let bind_secret_id: Bool
        let token_type: String

        init(_ role: AppRoleRole) {
            token_policies = role.policies
            policies = role.policies
            token_ttl = role.tokenTTL
            token_max_ttl = role.tokenMaxTTL
            token_num_uses = role.tokenNumUses
            secret_id_ttl = role.secretIDTTL
            secret_id_num_uses = role.secretIDNumUses
            secret_id_bound_cidrs = role.secretIDBoundCIDRs
            token_bound_cidrs = role.tokenBoundCIDRs
            bind_secret_id = true
            token_type = "service"
        }
    }

    struct SecretIDBody: Encodable {
        let secret_id: String
        let secret_id_accessor: String
        let secret_id_ttl: Int64
        let secret_id_num_uses: Int64
    }

    struct SecretIDInfo: Encodable {
        let secret_id_accessor: String
        let metadata: [String: String]
        let cidr_list: [String]
        let secret_id_num_uses: Int64
        let creation_time: String
        let expiration_time: String
        let secret_id_ttl: Int64

        init(_ entry: AppRoleSecretID) {
            let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
            secret_id_accessor = entry.accessor
            metadata = entry.metadata ?? [:]
            cidr_list = entry.cidrList
            secret_id_num_uses = entry.numUses
            creation_time = iso.format(entry.createdAt)
            expiration_time = entry.expiresAt.map { iso.format($0) } ?? "0001-01-01T00:00:00Z"
            secret_id_ttl = entry.expiresAt.map { Int64($0.timeIntervalSince(entry.createdAt).rounded()) } ?? 0
        }
    }
}
