import CofferAccess
import CofferCredentials
import CofferCrypto
import CofferFoundation
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Response wrapping: `X-Vault-Wrap-TTL` on any request answers a single-use wrapping token instead of the
/// answer (``ResponseWrapper``), and `sys/wrapping/{unwrap,lookup,rewrap}` use such tokens. Like Vault,
/// the three take the wrapping token itself (in the body, or as `X-Vault-Token`) and need no other token,
/// except that an unwrap with the wrapping token in the body needs a client token that may unwrap, as in Vault;
/// `sys/wrapping/wrap` wraps a caller's own data and is gated.
struct WrappingRoutes: Sendable {
    let wrapping: ResponseWrapping
    let gate: Gate

    func register(on router: GatedRouter) {
        for method in [HTTPRequest.Method.post, .put] {
            router.open("/v1/sys/wrapping/unwrap", method: method, operation: .update) { request, context, grant in
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
            router.open("/v1/sys/wrapping/lookup", method: method, operation: .update) { request, context, grant in
                let info = try await wrapping.lookup(grant, token: try await wrappingToken(request, context).token)
                return VaultJSON.response(status: .ok, VaultEnvelope(data: LookupData(info)))
            }
            router.open("/v1/sys/wrapping/rewrap", method: method, operation: .update) { request, context, grant in
                let info = try await wrapping.rewrap(grant, token: try await wrappingToken(request, context).token)
                return ResponseWrapper.answer(info)
            }
            router.on("/v1/sys/wrapping/wrap", method: method) { request, context, _ in
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
    }

    /// From the body's `token`, else `X-Vault-Token` (hvac's `sys.unwrap()` without an argument); and whether
    /// it came from the body.
    private func wrappingToken(_ request: Request, _ context: CofferRequestContext) async throws -> (token: String, inBody: Bool) {
        let body = try await Body.decodeIfPresent(TokenBody.self, request, context)
        if let token = body?.token, !token.isEmpty { return (token, true) }
        if let token = GatedRouter.token(from: request.headers) { return (token, false) }
        throw APIError(.badRequest, "token is required: the wrapping token, in the body or as X-Vault-Token")
    }

    struct TokenBody: Decodable {
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

/// Wraps a finished answer when the request asked for it with `X-Vault-Wrap-TTL`.
enum ResponseWrapper {
    static let header = HTTPField.Name("X-Vault-Wrap-TTL")!

    /// The wrap TTL `request` asks for in seconds, `nil` when it asks for none (or is itself a wrapping call).
    /// - Throws: ``APIError`` 400 for a TTL that is not a duration.
    static func requestedTTL(_ request: Request, path: String) throws -> Int64? {
        guard let text = request.headers[header], !path.hasPrefix("sys/wrapping/") || path == "sys/wrapping/wrap" else { return nil }
        let ttl = try Duration.seconds(of: DurationValue(text), field: "X-Vault-Wrap-TTL")
        guard ttl >= 1, ttl <= ResponseWrapping.maximumTTL else {
            throw APIError(.badRequest, "X-Vault-Wrap-TTL must be between 1s and \(ResponseWrapping.maximumTTL / 3600)h")
        }
        return ttl
    }

    /// A wrapping token for `response` when it is a 200 with a body; any other answer as it is.
    static func wrap(_ response: Response, ttl: Int64, grant: Grant, wrapping: ResponseWrapping, path: String) async throws -> Response {
        guard response.status == .ok else { return response }
        let collector = BodyCollector()
        try await response.body.write(collector)
        let body = SecretBody.guarded(collector.box.buffer)
        collector.box.wipe()
        let info = try await wrapping.wrap(grant, response: body, ttl: ttl, creationPath: path)
        return answer(info)
    }

    static func answer(_ info: WrapInfo) -> Response {
        VaultJSON.response(
            status: .ok,
            VaultEnvelope<NoData>(
                data: nil,
                wrapInfo: .init(
                    token: info.token ?? "", accessor: info.accessor, ttl: info.ttl, creation_time: VaultTime.format(info.creationTime),
                    creation_path: info.creationPath, wrapped_accessor: nil)))
    }

    /// Gathers an answer's body (bounded by what a route produces: small JSON).
    struct BodyCollector: ResponseBodyWriter {
        final class Box {
            var buffer = SecretBody.allocator.buffer(capacity: 256)
            func wipe() {
                buffer.withUnsafeMutableReadableBytes { Wipe.raw($0) }
            }
        }
        let box = Box()

        mutating func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            box.buffer.writeBuffer(&buffer)
        }

        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
