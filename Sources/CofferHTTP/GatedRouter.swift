public import CofferAccess
import CofferStore
import Foundation
public import HTTPTypes
import Logging
public import Hummingbird

/// The only way Coffer adds routes: every route either goes through the ``Gate`` (a token, a policy check,
/// audit entries, and a ``Grant`` for the handler) or is one of the few open paths Vault also leaves open,
/// declared as such. The routes are recorded, so a test can walk all of them.
public final class GatedRouter {
    /// How a route is reached.
    public enum Access: Sendable, Equatable, CustomStringConvertible {
        /// Token, policy, audit. `sudo` adds Vault's sudo capability to what the path needs; `extra` adds
        /// Coffer's own (`audit`, `rotate`).
        case gated(sudo: Bool, extra: Capabilities)
        /// No token, but audited (`sys/init`, `sys/unseal`, `sys/rekey/*`, logins).
        case open
        /// No token and not audited: health probes, which must answer while the audit trail is failing.
        case probe

        public static let token = Access.gated(sudo: false, extra: [])
        public static let sudo = Access.gated(sudo: true, extra: [])

        public var description: String {
            switch self {
            case .gated(let sudo, let extra): "gated\(sudo ? " +sudo" : "")\(extra.isEmpty ? "" : " +\(extra)")"
            case .open: "open"
            case .probe: "probe"
            }
        }
    }

    /// A registered route.
    public struct Route: Sendable, Equatable {
        public let path: String
        public let method: HTTPRequest.Method
        public let access: Access
    }

    public typealias Handler = @Sendable (Request, CofferRequestContext, Grant) async throws -> Response

    /// Vault's `LIST` verb.
    public static let list = HTTPRequest.Method("LIST") ?? .get

    public let router: Router<CofferRequestContext>
    public let gate: Gate
    /// Every route added so far.
    public private(set) var routes: [Route] = []

    /// A router whose middleware comes before any route, so it wraps every one. The server decides which
    /// (request metrics, no-store headers, request logging, Vault's error shape), outermost first.
    public init(gate: Gate, middleware: [any MiddlewareProtocol<Request, Response, CofferRequestContext>]) {
        self.gate = gate
        let router = Router(context: CofferRequestContext.self)
        for layer in middleware { router.add(middleware: layer) }
        self.router = router
    }

    /// A route behind the Gate: `handler` runs only with a grant.
    /// - Parameter operation: the policy operation; by default from the method (`GET` read, `LIST` or
    ///   `GET ?list=true` list, `POST`/`PUT` update, `PATCH` patch, `DELETE` delete). Say `.write` only where
    ///   the module checks existence and requires `create` or `update` accordingly (``Grant/requireWrite(exists:)``).
    /// - Parameter requestEntry: `.withChange` where the module makes its change with ``Grant/transaction(on:_:)``,
    ///   so a change's request entry commits in the change's transaction.
    /// - Parameter epochCheck: `.inModule` where the module's reads confirm the revocation epoch themselves
    ///   (``Grant/confirmIdentity(epoch:)``) and do nothing before it; applies to reads only.
    /// - Parameter replicaReads: `false` for a read operation that changes state (it issues a lease): its module
    ///   reads the primary even on an instance with a read replica.
    public func on(
        _ path: String, method: HTTPRequest.Method, access: Access = .token, operation: GateRequest.Operation? = nil,
        requestEntry: GateRequest.RequestEntry = .first, epochCheck: GateRequest.EpochCheck = .beforeOperation,
        replicaReads: Bool = true, _ handler: @escaping Handler
    ) {
        precondition(access != .open && access != .probe, "use open(_:method:_:) or probe(_:method:_:)")
        record(path, method, access)
        let gate = gate
        router.on(RouterPath(path), method: method) { request, context in
            try await Self.perform(
                gate, request, context, access: access, operation: operation, requestEntry: requestEntry, epochCheck: epochCheck,
                replicaReads: replicaReads
            ) { grant in
                try await handler(request, context, grant)
            }
        }
    }

    /// A write route under both of Vault's methods: Vault treats `POST` and `PUT` alike on every write path, and
    /// clients use either (hvac `POST`s, the CLI `PUT`s).
    public func onWrite(
        _ path: String, access: Access = .token, operation: GateRequest.Operation? = nil,
        requestEntry: GateRequest.RequestEntry = .first, _ handler: @escaping Handler
    ) {
        for method in Self.writeMethods {
            on(path, method: method, access: access, operation: operation, requestEntry: requestEntry, handler)
        }
    }

    /// An open, audited write route under both of Vault's methods (`sys/init`, `sys/unseal`, `sys/wrapping/unwrap`).
    public func openWrite(
        _ path: String, operation: GateRequest.Operation? = nil, requestEntry: GateRequest.RequestEntry = .first,
        _ handler: @escaping Handler
    ) {
        for method in Self.writeMethods { open(path, method: method, operation: operation, requestEntry: requestEntry, handler) }
    }

    /// Vault's two methods for a write, which it treats alike on every write path.
    public static let writeMethods: [HTTPRequest.Method] = [.post, .put]

    /// A list route in both of Vault's forms: the `LIST` method, and `GET ?list=true` (hvac's `strict_http`).
    /// A plain `GET` of the path answers 405.
    public func onList(_ path: String, access: Access = .token, _ handler: @escaping Handler) {
        on(path, method: Self.list, access: access, handler)
        on(path, method: .get, access: access) { request, context, grant in
            guard request.uri.queryParameters["list"] == "true" else {
                throw APIError(.methodNotAllowed, "use LIST or GET ?list=true to list \(path)")
            }
            return try await handler(request, context, grant)
        }
    }

    /// An open, audited route: the handler gets an anonymous grant.
    public func open(
        _ path: String, method: HTTPRequest.Method, operation: GateRequest.Operation? = nil,
        requestEntry: GateRequest.RequestEntry = .first, _ handler: @escaping Handler
    ) {
        record(path, method, .open)
        let gate = gate
        router.on(RouterPath(path), method: method) { request, context in
            try await Self.perform(gate, request, context, access: .open, operation: operation, requestEntry: requestEntry) { grant in
                try await handler(request, context, grant)
            }
        }
    }

    /// A health probe: no token, no audit entry.
    public func probe(
        _ path: String, method: HTTPRequest.Method,
        _ handler: @escaping @Sendable (Request, CofferRequestContext) async throws -> Response
    ) {
        record(path, method, .probe)
        router.on(RouterPath(path), method: method) { request, context in try await handler(request, context) }
    }

    private func record(_ path: String, _ method: HTTPRequest.Method, _ access: Access) {
        routes.append(Route(path: path, method: method, access: access))
    }

    public static func perform(
        _ gate: Gate, _ request: Request, _ context: CofferRequestContext, access: Access, operation: GateRequest.Operation?,
        requestEntry: GateRequest.RequestEntry = .first, epochCheck: GateRequest.EpochCheck = .beforeOperation,
        replicaReads: Bool = true, _ body: (Grant) async throws -> Response
    ) async throws -> Response {
        // Set by CanonicalPathRouter, the only way the routes are served; never decoded a second time here.
        guard let path = context.canonicalPath else {
            throw APIError(.internalServerError, "internal error: the request path was not decoded before routing")
        }
        let gateAccess: GateRequest.Access
        var extra: Capabilities = []
        switch access {
        case .gated(let sudo, let capabilities):
            gateAccess = .token(sudo: sudo)
            extra = capabilities
        case .open, .probe:
            gateAccess = .open
        }
        let gateOperation = operation ?? Self.operation(request)
        // Vault appends `/` to a LIST path before the ACL check, so `secret/metadata/app/*` allows listing `app`.
        // Anything else is decided without a trailing `/`: the router matches `…/payroll/` to the same route and
        // parameters as `…/payroll`, so a rule denying `…/payroll` must decide both spellings.
        let policyPath = gateOperation == .list ? path.asFolder : path.asLeaf
        // A bad X-Vault-Wrap-TTL is refused before the operation runs, not after it has changed something.
        let wrapTTL = try ResponseWrapper.requestedTTL(request, path: policyPath.text)
        // A read that changes nothing may be served from a read replica (ReplicaRoutedDatabase), its module's
        // statements only: the Gate decides the identity on the primary, its epoch confirmed before the
        // operation, so a revocation holds at once on every instance; the audit entries commit on the primary.
        let replicaRead = replicaReads && wrapTTL == nil && (gateOperation == .read || gateOperation == .list) ? context.replicaRead : nil
        let gateRequest = GateRequest(
            token: token(from: request.headers), path: policyPath, operation: gateOperation,
            access: gateAccess, requestID: context.id, remoteAddress: context.remoteAddress, extraCapabilities: extra,
            // A wrapped answer stores a wrapping token: not a read that may run before its epoch is confirmed.
            requestEntry: requestEntry, epochCheck: wrapTTL == nil && replicaRead == nil ? epochCheck : .beforeOperation)
        return try await gate.perform(
            gateRequest,
            status: { result in
                switch result {
                case .success(let response): Int(response.status.code)
                case .failure(let error): Int(APIError.answering(error, request: request, context: context).status.code)
                }
            }
        ) { grant in
            // Wrapped inside the Gate, so the response entry records the wrapping token's accessor and hash.
            let response =
                if let replicaRead {
                    try await ReplicaRead.$current.withValue(replicaRead) { try await body(grant) }
                } else {
                    try await body(grant)
                }
            guard let wrapTTL else { return response }
            return try await ResponseWrapper.wrap(response, ttl: wrapTTL, grant: grant, wrapping: gate.wrapping, path: policyPath.text)
        }
    }

    /// `X-Vault-Token`, else `Authorization: Bearer …`.
    public static func token(from headers: HTTPFields) -> String? {
        if let name = HTTPField.Name("X-Vault-Token"), let token = headers[name], !token.isEmpty { return token }
        if let value = headers[.authorization], value.lowercased().hasPrefix("bearer ") {
            return String(value.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    public static func operation(_ request: Request) -> GateRequest.Operation {
        switch request.method {
        case .get, .head: request.uri.queryParameters["list"].map { $0 == "true" } == true ? .list : .read
        // Vault's rule: a write is an update unless the route's module decides create vs update by existence
        // (those routes say `operation: .write`), so the `create` capability alone never overwrites anything.
        case .post, .put: .update
        case .patch: .patch
        case .delete: .delete
        case list: .list
        default: .read
        }
    }

    /// What to serve: every route, behind the decode-once path (``CanonicalPathRouter``).
    public var hummingbirdRouter: CanonicalPathRouter { CanonicalPathRouter(router: router) }
}
