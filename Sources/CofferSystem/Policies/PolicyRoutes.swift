public import CofferAccess
public import CofferHTTP
import HTTPTypes
import Hummingbird

/// `sys/policies/acl` (and Vault's legacy `sys/policy`, whose bodies say `rules` instead of `policy`).
public struct PolicyRoutes: Sendable {
    let policies: PolicyStore

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(policies: PolicyStore) {
        self.policies = policies
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        for base in ["/v1/sys/policies/acl", "/v1/sys/policy"] {
            let legacy = base.hasSuffix("sys/policy")
            if legacy {
                // The legacy path lists on a plain GET too.
                router.on(base, method: GatedRouter.list) { _, _, _ in try await list(legacy: true) }
                router.on(base, method: .get, operation: .read) { _, _, _ in try await list(legacy: true) }
            } else {
                router.onList(base) { _, _, _ in try await list(legacy: false) }
            }
            router.on("\(base)/:name", method: .get) { _, context, grant in
                let name = try canonical(context, grant, needing: .read)
                // `root` has no text: it is built in.
                let text = name == Policy.rootName ? "" : try await policies.read(name)
                guard let text else { throw APIError.missing }
                if legacy { return VaultJSON.response(status: .ok, FlatEnvelope(fields: ["name": name, "rules": text])) }
                return VaultJSON.response(status: .ok, VaultEnvelope(data: ["name": name, "policy": text]))
            }
            router.onWrite("\(base)/:name", operation: .write) { request, context, grant in
                let name = try canonical(context, grant, needing: nil)
                let body = try await Body.decode(PolicyBody.self, request, context)
                guard let text = (legacy ? body.rules : body.policy) ?? body.policy ?? body.rules else {
                    throw APIError(.badRequest, "\(legacy ? "rules" : "policy") is required: the policy text (HCL or JSON)")
                }
                try await policies.write(grant, name, text: text, decidedAt: Self.policyPath(grant, name))
                grant.auditFact("policy", name)
                return Response(status: .noContent)
            }
            router.on("\(base)/:name", method: .delete) { _, context, grant in
                let name = try canonical(context, grant, needing: .delete)
                try await policies.delete(grant, name)
                grant.auditFact("policy", name)
                return Response(status: .noContent)
            }
        }
    }

    /// The route's policy name as Vault keeps it, lower case. Another spelling (`Admins`) names the same policy,
    /// so the caller's policies must also allow `capability` on the lower-case path: a rule on
    /// `sys/policies/acl/admins` is not escaped by asking for `…/ADMINS`. (A write decides create or update
    /// in the store, on the same path.)
    private func canonical(_ context: CofferRequestContext, _ grant: Grant, needing capability: Capabilities?) throws -> String {
        let spelled = try context.parameters.require("name")
        let name = Policy.canonicalName(spelled)
        if let capability, name != spelled { try grant.require(capability, on: Self.policyPath(grant, name)) }
        return name
    }

    /// The path a policy named `name` is decided on: the grant's own, with the name as Vault keeps it.
    static func policyPath(_ grant: Grant, _ name: String) -> String {
        let path = grant.path
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[...slash]) + name
    }

    private func list(legacy: Bool) async throws -> Response {
        let names = try await policies.list()
        if legacy { return VaultJSON.response(status: .ok, FlatEnvelope(fields: ["policies": names, "keys": names])) }
        return VaultJSON.response(status: .ok, VaultEnvelope(data: ["keys": names]))
    }

    package struct PolicyBody: Decodable {
        var policy: String?
        var rules: String?
    }
}
