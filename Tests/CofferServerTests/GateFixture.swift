import CofferAccess
import CofferCrypto
import CofferFoundation
import CofferKeys
import CofferServer
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// A prepared, initialised and unsealed server and its root token, for tests of routes behind the Gate. With
/// `time`, the server runs on that clock: a test moves it past a TTL instead of sleeping.
func withUnsealedServer(
    _ backend: TestBackend = .sqlite, auditTimeout: String? = nil, auditWitness: String? = nil,
    flags: ServerConfiguration.Inputs = .init(), time: ManualTime? = nil,
    _ body: @Sendable (CofferServer, String) async throws -> Void
) async throws {
    var flags = flags
    flags.auditWitness = auditWitness ?? flags.auditWitness
    flags.auditTimeout = auditTimeout ?? flags.auditTimeout
    try await WallClock.$source.withValue(time ?? WallClock.source) {
        try await withServer(backend, flags: flags) { server in
            let initialised = try await server.keys.initialize(method: .keyFile)
            _ = try await server.keys.unseal(with: try #require(initialised.keyFileKey).bytes)
            try await body(server, initialised.rootToken)
        }
    }
}

/// JSON in and out of the test client.
enum JSON {
    static func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    static func body(_ object: [String: Any]) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
    }

    static func data(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try object(buffer)["data"] as? [String: Any])
    }

    static func auth(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try object(buffer)["auth"] as? [String: Any])
    }
}

let vaultToken = HTTPField.Name("X-Vault-Token")!

extension TestClientProtocol {
    /// `POST` with a JSON body and a token; returns status and parsed body (an empty object for no body).
    @discardableResult
    func call(_ uri: String, _ method: HTTPRequest.Method = .post, token: String?, _ object: [String: Any]? = nil) async throws
        -> (HTTPResponse.Status, [String: Any])
    {
        var headers: HTTPFields = [:]
        if let token { headers[vaultToken] = token }
        return try await execute(uri: uri, method: method, headers: headers, body: try object.map(JSON.body)) { response in
            let parsed = response.body.readableBytes == 0 ? [:] : (try? JSON.object(response.body)) ?? [:]
            return (response.status, parsed)
        }
    }

    /// Like ``call(_:_:token:_:)``, with the answer decoded as Vault's envelope whose `data` is a `D`: a field
    /// with another name or type fails the decoding, where a `[String: Any]` cast would only yield nil.
    func answer<D: Decodable>(
        _ data: D.Type, _ uri: String, _ method: HTTPRequest.Method = .post, token: String?, _ object: [String: Any]? = nil
    ) async throws -> (HTTPResponse.Status, VaultAnswer<D>) {
        var headers: HTTPFields = [:]
        if let token { headers[vaultToken] = token }
        return try await execute(uri: uri, method: method, headers: headers, body: try object.map(JSON.body)) { response in
            (response.status, try VaultAnswer<D>(body: response.body))
        }
    }

    /// A new token with `policies`, made by `parent`.
    func createToken(parent: String, _ parameters: [String: Any]) async throws -> (token: String, accessor: String) {
        let (status, body) = try await answer(NoData.self, "/v1/auth/token/create", token: parent, parameters)
        #expect(status == .ok, "token create: \(body.errors ?? [])")
        let auth = try #require(body.auth)
        return (auth.clientToken, auth.accessor)
    }
}

/// Vault's response envelope as a client reads it; `data` typed per route, `auth` as every login returns it.
struct VaultAnswer<D: Decodable>: Decodable {
    let data: D?
    let auth: VaultAuth?
    let errors: [String]?
    let warnings: [String]?
    /// The lease hint (a KV version 1 secret's `ttl`, a dynamic credential's lease), when the answer has one.
    let leaseDuration: Int?
    let leaseID: String?
    let renewable: Bool?

    enum CodingKeys: String, CodingKey {
        case data, auth, errors, warnings, renewable
        case leaseDuration = "lease_duration", leaseID = "lease_id"
    }
}

extension VaultAnswer {
    /// An answer's body as the server sent it (an empty body reads as `{}`: a 204 has no fields).
    init(body: ByteBuffer) throws {
        self = try JSONDecoder().decode(Self.self, from: body.readableBytes == 0 ? Data("{}".utf8) : Data(body.readableBytesView))
    }

    /// An answer printed by the CLI (`-format=json`).
    init(json: String) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(json.utf8))
    }
}

/// Vault's `auth` block (token create, logins).
struct VaultAuth: Decodable {
    let clientToken: String
    let accessor: String
    let policies: [String]
    let metadata: [String: String]?
    let leaseDuration: Int
    let renewable: Bool
    let orphan: Bool?

    enum CodingKeys: String, CodingKey {
        case clientToken = "client_token", accessor, policies, metadata, leaseDuration = "lease_duration", renewable, orphan
    }
}

/// For answers whose `data` is not read.
struct NoData: Decodable {}

extension CofferServer {
    /// The audit trail's verdict on itself.
    func verifyTrail() async throws -> AuditChain.Finding {
        try await AuditTrail(database: database).verify(publicKey: try await gate.auditPublicKey(), witnessed: []).finding
    }
}
