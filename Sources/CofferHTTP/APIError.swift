public import Hummingbird
import Foundation

/// An error answered in Vault's shape: a status and `{"errors": ["..."]}`, with `Content-Type` exactly
/// `application/json` (hvac parses error bodies only then).
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    /// Messages for the client: what was wrong and what to do. Never a secret.
    public let errors: [String]
    /// Seconds after which a retry may succeed (`Retry-After`), for 429 and 503 answers.
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ errors: [String]) {
        self.status = status
        self.errors = errors
    }

    public init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
        self.init(status, [message])
        self.retryAfter = retryAfter
    }

    /// Vault's bare 404 (`{"errors":[]}`): an unknown path, or an item that does not exist.
    public static let missing = APIError(.notFound, [])

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = VaultJSON.response(status: status, ErrorBody(errors: errors))
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    private struct ErrorBody: Encodable {
        public let errors: [String]
    }
}

/// JSON responses as Vault sends them.
public enum VaultJSON {
    /// A list answer in Vault's shape, `{"data": {"keys": [...]}}`; an empty list is a 404 with no errors, as Vault answers it.
    public static func keys(_ names: [String]) throws -> Response {
        guard !names.isEmpty else { throw APIError.missing }
        return response(status: .ok, VaultEnvelope(data: ["keys": names]))
    }

    /// Encodes `value` with `Content-Type: application/json` (no charset: hvac compares the header exactly).
    /// A `Date` anywhere in it is written as Vault writes times (``VaultTime/format(_:)``), so domain types
    /// encode their own fields instead of being copied into string-typed answers.
    public static func response(status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(VaultTime.format(date))
        }
        let data = (try? encoder.encode(value)) ?? Data(#"{"errors":["internal error encoding the response"]}"#.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
