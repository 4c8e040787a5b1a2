import Foundation
package import HTTPTypes
package import Hummingbird
package import HummingbirdTesting

/// JSON in and out of the test client.
package enum JSON {
    package static func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try required(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any], "a JSON object")
    }

    /// A body decoded as `type`: for Vault's answers that are not in the envelope (`sys/init`, `sys/seal-status`,
    /// `sys/health`, `sys/rekey/*`, `sys/generate-root/*`) and for an error's `errors`.
    package static func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
    }

    package static func body(_ object: [String: Any]) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
    }

    package static func data(_ buffer: ByteBuffer) throws -> [String: Any] {
        try required(try object(buffer)["data"] as? [String: Any], "an answer's data object")
    }

    package static func auth(_ buffer: ByteBuffer) throws -> [String: Any] {
        try required(try object(buffer)["auth"] as? [String: Any], "an answer's auth object")
    }
}

package let vaultToken = HTTPField.Name("X-Vault-Token")!

extension TestClientProtocol {
    /// `POST` with a JSON body and a token; returns status and parsed body (an empty object for no body).
    @discardableResult
    package func call(_ uri: String, _ method: HTTPRequest.Method = .post, token: String?, _ object: [String: Any]? = nil) async throws
        -> (HTTPResponse.Status, [String: Any])
    {
        try await send(uri, method, token: token, object) { body in
            body.readableBytes == 0 ? [:] : (try? JSON.object(body)) ?? [:]
        }
    }

    /// Like ``call(_:_:token:_:)``, with the answer decoded as Vault's envelope whose `data` is a `D`: a field
    /// with another name or type fails the decoding, where a `[String: Any]` cast would only yield nil.
    package func answer<D: Decodable>(
        _ data: D.Type, _ uri: String, _ method: HTTPRequest.Method = .post, token: String?, _ object: [String: Any]? = nil
    ) async throws -> (HTTPResponse.Status, VaultAnswer<D>) {
        try await send(uri, method, token: token, object) { try VaultAnswer<D>(body: $0) }
    }

    /// A new token with `policies`, made by `parent`.
    package func createToken(parent: String, _ parameters: [String: Any]) async throws -> (token: String, accessor: String) {
        let (status, body) = try await answer(UnreadData.self, "/v1/auth/token/create", token: parent, parameters)
        guard status == .ok, let auth = body.auth else { throw FixtureFailure("token create: \(status) \(body.errors ?? [])") }
        return (auth.clientToken, auth.accessor)
    }

    /// A call whose answer is not in Vault's envelope, decoded as `T`.
    package func plain<T: Decodable>(
        _ type: T.Type, _ uri: String, _ method: HTTPRequest.Method = .put, token: String? = nil, _ object: [String: Any]? = nil
    ) async throws -> (HTTPResponse.Status, T) {
        try await send(uri, method, token: token, object) { try JSON.decode(T.self, $0) }
    }

    /// One request with `object` as its JSON body and `token` as Vault's token header; the answer's body read by `read`.
    private func send<T>(
        _ uri: String, _ method: HTTPRequest.Method, token: String?, _ object: [String: Any]?, read: @escaping (ByteBuffer) throws -> T
    ) async throws -> (HTTPResponse.Status, T) {
        var headers: HTTPFields = [:]
        if let token { headers[vaultToken] = token }
        return try await execute(uri: uri, method: method, headers: headers, body: try object.map(JSON.body)) { response in
            (response.status, try read(response.body))
        }
    }
}
