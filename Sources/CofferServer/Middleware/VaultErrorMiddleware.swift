import CofferFoundation
import CofferHTTP
import CofferSystem
import HTTPTypes
public import Hummingbird
import Logging

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
