public import HTTPTypes
public import Hummingbird

/// Headers every Coffer answer carries: answers may hold secrets, so nothing may cache them.
public struct NoStoreMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await RequestScope.$id.withValue(context.id) { try await next(request, context) }
        response.headers[.cacheControl] = "no-store"
        response.headers[.requestID] = context.id
        return response
    }
}

extension HTTPField.Name {
    /// `X-Request-Id`: the id every log line of the request carries, so a client can quote it.
    /// (The initialiser fails only for a name that is not a valid token; this one is, so the fallback is never used.)
    public static let requestID = HTTPField.Name("X-Request-Id") ?? .via
}
