import CofferAccess
import CofferCredentials
import CofferFoundation
import CofferKeys
import CofferStore
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore

/// Turns every error into Vault's error shape; anything unforeseen becomes a 500 whose body says
/// nothing about the cause (the log says what kind of error it was, never its content).
public struct VaultErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let reporter: ErrorReporter?

    public init() { reporter = nil }

    init(reporter: ErrorReporter?) { self.reporter = reporter }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let answer = APIError.answering(error, request: request, context: context)
            if answer.status == .internalServerError {
                // Coffer's own errors go to its error log: the kind of error and where, never its content.
                reporter?.report(
                    component: "coffer.http", severity: .error, type: String(describing: type(of: error)),
                    message: "500 on \(request.method) \(request.uri.path)")
            }
            return try answer.response(from: request, context: context)
        }
    }
}

extension APIError {
    /// The one mapping of Coffer's typed errors to Vault's statuses and messages (the error middleware answers
    /// with it, the Gate records its status in the audit entry).
    static func answering(_ error: any Error, request: Request, context: some RequestContext) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as AccessError:
            return error.apiError
        case let error as KeysError:
            return error.apiError
        case let error as SuiteError:
            return error.apiError
        case let error as KVVersionMismatch:
            // Where a route does not answer it itself (KVRoutes does, by serving the other version's path).
            return APIError(.badRequest, "\(error.mount)/ is a KV version \(error.version) engine; use its version \(error.version) paths")
        case let error as StoreError where [.connectionFailed, .connectionLost, .busy, .closed].contains(error.code):
            context.logger.error("storage unavailable", metadata: ["coffer.store.code": "\(error.code)"])
            return APIError(.serviceUnavailable, "storage is unavailable; try again")
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "request body is larger than \(context.maxUploadSize) bytes")
        case let error as HTTPError:
            let message: [String] =
                switch error.status {
                case .notFound: [] // Vault answers an unknown path or missing item with an empty list
                case .methodNotAllowed: ["method \(request.method) is not supported on \(request.uri.path)"]
                case .contentTooLarge: ["request body is larger than \(context.maxUploadSize) bytes"]
                default: [error.body ?? error.status.reasonPhrase]
                }
            return APIError(error.status, message)
        default:
            context.logger.error("unhandled error", metadata: ["coffer.error.type": "\(type(of: error))"])
            return APIError(.internalServerError, "internal error")
        }
    }
}

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
    static let requestID = HTTPField.Name("X-Request-Id") ?? .via
}
