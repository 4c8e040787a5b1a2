public import CofferAccess
import CofferCrypto
import CofferFoundation
import Foundation
public import HTTPTypes
public import Hummingbird
public import NIOCore

/// Wraps a finished answer when the request asked for it with `X-Vault-Wrap-TTL`.
public enum ResponseWrapper {
    public static let header = HTTPField.Name("X-Vault-Wrap-TTL")!

    /// The wrap TTL `request` asks for in seconds, `nil` when it asks for none (or is itself a wrapping call).
    /// - Throws: ``APIError`` 400 for a TTL that is not a duration.
    public static func requestedTTL(_ request: Request, path: String) throws -> Int64? {
        guard let text = request.headers[header], !path.hasPrefix("sys/wrapping/") || path == "sys/wrapping/wrap" else { return nil }
        let ttl = try Duration.seconds(of: DurationValue(text), field: "X-Vault-Wrap-TTL")
        guard ttl >= 1, ttl <= ResponseWrapping.maximumTTL else {
            throw APIError(.badRequest, "X-Vault-Wrap-TTL must be between 1s and \(ResponseWrapping.maximumTTL / 3600)h")
        }
        return ttl
    }

    /// A wrapping token for `response` when it is a 200 with a body; any other answer as it is.
    public static func wrap(_ response: Response, ttl: Int64, grant: Grant, wrapping: ResponseWrapping, path: String) async throws
        -> Response
    {
        guard response.status == .ok else { return response }
        let collector = BodyCollector()
        try await response.body.write(collector)
        let body = SecretBody.guarded(collector.box.buffer)
        collector.box.wipe()
        let info = try await wrapping.wrap(grant, response: body, ttl: ttl, creationPath: path)
        return answer(info)
    }

    public static func answer(_ info: WrapInfo) -> Response {
        VaultJSON.response(
            status: .ok,
            VaultEnvelope<NoData>(
                data: nil,
                wrapInfo: .init(
                    token: info.token ?? "", accessor: info.accessor, ttl: info.ttl, creation_time: VaultTime.format(info.creationTime),
                    creation_path: info.creationPath, wrapped_accessor: nil)))
    }

    /// Gathers an answer's body (bounded by what a route produces: small JSON).
    public struct BodyCollector: ResponseBodyWriter {
        public final class Box {
            public var buffer = SecretBody.allocator.buffer(capacity: 256)
            public func wipe() {
                buffer.withUnsafeMutableReadableBytes { Wipe.raw($0) }
            }
        }
        public let box = Box()

        public mutating func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            box.buffer.writeBuffer(&buffer)
        }

        public consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
