import CofferKeys
import CofferStore
import HTTPTypes
public import Hummingbird
import Logging

/// Turns every error into Vault's error shape; anything unforeseen becomes a 500 whose body says
/// nothing about the cause (the log says what kind of error it was, never its content).
public struct VaultErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as KeysError {
            return try error.apiError.response(from: request, context: context)
        } catch let error as StoreError where [.connectionFailed, .connectionLost, .busy, .closed].contains(error.code) {
            context.logger.error("storage unavailable", metadata: ["coffer.store.code": "\(error.code)"])
            return VaultJSON.response(status: .serviceUnavailable, ErrorBodyShape(errors: ["storage is unavailable; try again"]))
        } catch let error as HTTPError {
            let message: [String] = switch error.status {
            case .notFound: []  // Vault answers an unknown path or missing item with an empty list
            case .methodNotAllowed: ["method \(request.method) is not supported on \(request.uri.path)"]
            case .contentTooLarge: ["request body is larger than \(context.maxUploadSize) bytes"]
            default: [error.body ?? error.status.reasonPhrase]
            }
            return VaultJSON.response(status: error.status, ErrorBodyShape(errors: message))
        } catch {
            context.logger.error("unhandled error", metadata: ["coffer.error.type": "\(type(of: error))"])
            return VaultJSON.response(status: .internalServerError, ErrorBodyShape(errors: ["internal error"]))
        }
    }

    private struct ErrorBodyShape: Encodable {
        let errors: [String]
    }
}

/// Headers every Coffer answer carries: answers may hold secrets, so nothing may cache them.
public struct NoStoreMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
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
