public import CofferAccess
import HTTPTypes
public import Hummingbird

/// Coffer's router as Hummingbird sees it: every request's path is decoded once into its ``CanonicalPath``
/// *before* routing, and the router then matches (and hands out parameters from) the decoded path. So the
/// route that runs, its parameters, the Gate's decision, the audit entry and the storage key all come from
/// the same bytes; `/v1/secret/%64ata/x` routes exactly as `/v1/secret/data/x` does, and nothing downstream
/// decodes again. A path that could mean two things is answered 400 here, before any route or the Gate sees it.
public struct CanonicalPathRouter: HTTPResponderBuilder {
    public let router: Router<CofferRequestContext>

    public func buildResponder() -> Responder {
        Responder(next: router.buildResponder())
    }

    /// Decodes, then hands the request on with its decoded path.
    public struct Responder: HTTPResponder {
        public let next: RouterResponder<CofferRequestContext>

        public func respond(to request: Request, context: CofferRequestContext) async throws -> Response {
            let target = request.head.path ?? "/"
            let queryStart = target.utf8.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
            let decoded: (path: CanonicalPath, routing: String)
            do {
                decoded = try CanonicalPath.decodeRequest(target.utf8[..<queryStart])
            } catch {
                // Answered before routing, so the route middleware never runs: its no-store headers are added here,
                // by the same middleware.
                let refusal = APIError.refusedPath(error)
                return try await NoStoreMiddleware().handle(request, context: context) { request, context in
                    try refusal.response(from: request, context: context)
                }
            }
            var context = context
            context.canonicalPath = decoded.path
            // Nothing was percent-decoded (the usual case: same length, since each %XX shrinks to one byte): the
            // request already routes on its decoded path.
            if decoded.routing.utf8.count == target.utf8.distance(from: target.utf8.startIndex, to: queryStart) {
                return try await next.respond(to: request, context: context)
            }
            var head = request.head
            head.path = decoded.routing + target[queryStart...]
            return try await next.respond(to: Request(head: head, body: request.body), context: context)
        }
    }
}

extension APIError {
    /// The 400 for a request path ``CanonicalPath`` refuses.
    public static func refusedPath(_ refusal: CanonicalPath.Refusal) -> APIError {
        APIError(.badRequest, refusal.description)
    }
}
