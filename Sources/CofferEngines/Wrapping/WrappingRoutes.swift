public import CofferAccess
import CofferCrypto
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Response wrapping: `X-Vault-Wrap-TTL` on any request answers a single-use wrapping token instead of the
/// answer (``ResponseWrapper``), and `sys/wrapping/{unwrap,lookup,rewrap}` use such tokens. Like Vault,
/// the three take the wrapping token itself (in the body, or as `X-Vault-Token`) and need no other token,
/// except that an unwrap with the wrapping token in the body needs a client token that may unwrap, as in Vault;
/// `sys/wrapping/wrap` wraps a caller's own data and is gated.
public struct WrappingRoutes: Sendable {
    let wrapping: ResponseWrapping
    let gate: Gate

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(wrapping: ResponseWrapping, gate: Gate) {
        self.wrapping = wrapping
        self.gate = gate
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.openWrite("/v1/sys/wrapping/unwrap", operation: .update) { request, context, grant in
            let (token, inBody) = try await wrappingToken(request, context)
            if inBody {
                // As Vault: a wrapping token that is not valid is a 400 first (the unwrap refuses it, and drops an
                // expired one); a valid one needs a client token that may unwrap.
                do { _ = try await wrapping.lookup(grant, token: token) } catch let error as AccessError
                    where error.code == .invalidRequest
                {
                    _ = try await wrapping.unwrap(grant, token: token)
                    throw error
                }
                guard await gate.allows(token: GatedRouter.token(from: request.headers), .update, on: "sys/wrapping/unwrap") else {
                    throw AccessError.permissionDenied()
                }
            }
            let response = try await wrapping.unwrap(grant, token: token)
            return SecretBody.response(status: .ok, prefix: "", secret: response.bytes, suffix: "")
        }
        router.openWrite("/v1/sys/wrapping/lookup", operation: .update) { request, context, grant in
            let info = try await wrapping.lookup(grant, token: try await wrappingToken(request, context).token)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: LookupData(info)))
        }
        router.openWrite("/v1/sys/wrapping/rewrap", operation: .update) { request, context, grant in
            let info = try await wrapping.rewrap(grant, token: try await wrappingToken(request, context).token)
            return ResponseWrapper.answer(info)
        }
        router.onWrite("/v1/sys/wrapping/wrap") { request, context, _ in
            // The body is the payload; unwrap gives it back as `data`. Without X-Vault-Wrap-TTL, Vault refuses.
            guard request.headers[ResponseWrapper.header] != nil else {
                throw APIError(.badRequest, "sys/wrapping/wrap needs the X-Vault-Wrap-TTL header")
            }
            let buffer = try await request.body.collect(upTo: context.maxUploadSize)
            guard case .object = JSONValue.parse(buffer.readableBytesView) else {
                throw APIError(.badRequest, "the body to wrap must be a JSON object")
            }
            let prefix = VaultEnvelope<NoData>.prefix
            let payload = SecretBody.guarded(buffer)
            return SecretBody.response(status: .ok, prefix: prefix, secret: payload, suffix: VaultEnvelope<NoData>.suffix)
        }
    }

    /// From the body's `token`, else `X-Vault-Token` (hvac's `sys.unwrap()` without an argument); and whether
    /// it came from the body.
    private func wrappingToken(_ request: Request, _ context: CofferRequestContext) async throws -> (token: String, inBody: Bool) {
        let body = try await Body.decodeIfPresent(TokenBody.self, request, context)
        if let token = body?.token, !token.isEmpty { return (token, true) }
        if let token = GatedRouter.token(from: request.headers) { return (token, false) }
        throw APIError(.badRequest, "token is required: the wrapping token, in the body or as X-Vault-Token")
    }

    package struct TokenBody: Decodable {
        var token: String?
    }

    struct LookupData: Encodable {
        let creation_path: String
        let creation_time: String
        let creation_ttl: Int64

        init(_ info: WrapInfo) {
            creation_path = info.creationPath
            creation_time = VaultTime.format(info.creationTime)
            creation_ttl = info.ttl
        }
    }
}
