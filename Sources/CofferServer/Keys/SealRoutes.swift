import CofferCrypto
public import CofferKeys
import Foundation
import HTTPTypes
public import Hummingbird

/// `sys/init`, `sys/seal-status`, `sys/unseal`, `sys/seal`, `sys/rotate`, `sys/key-status`, in Vault's shapes.
///
/// Until the Gate exists, the three operations that need a token accept only the initial root token
/// (checked by keyed hash, in constant time); every other token gets Vault's 403.
public struct SealRoutes: Sendable {
    let keys: KeyHierarchy
    let backend: String
    /// The tables whose records `sys/rewrap` moves onto the newest key term.
    let encryptedTables: [EncryptedTable]

    public init(keys: KeyHierarchy, backend: String, encryptedTables: [EncryptedTable]) {
        self.keys = keys
        self.backend = backend
        self.encryptedTables = encryptedTables
    }

    public func register(on router: Router<CofferRequestContext>) {
        router.get("/v1/sys/init") { _, _ in
            VaultJSON.response(status: .ok, ["initialized": await keys.status.initialized])
        }
        for method in [HTTPRequest.Method.put, .post] {
            router.on("/v1/sys/init", method: method) { request, context in try await initialize(request, context) }
            router.on("/v1/sys/unseal", method: method) { request, context in try await unseal(request, context) }
            router.on("/v1/sys/seal", method: method) { request, _ in
                try await requireRootToken(request)
                await keys.seal()
                return Response(status: .noContent)
            }
            router.on("/v1/sys/rewrap", method: method) { request, context in try await rewrap(request, context) }
            router.on("/v1/sys/rotate", method: method) { request, _ in
                try await requireRootToken(request)
                _ = try await keys.rotate()
                return Response(status: .noContent)
            }
        }
        router.get("/v1/sys/seal-status") { _, _ in sealStatus(await keys.status) }
        RekeyRoutes(keys: keys).register(on: router)
        router.get("/v1/sys/key-status") { request, _ in
            try await requireRootToken(request)
            let terms = try await keys.keyStatus()
            guard let active = terms.last(where: { $0.status == .active }) else { throw KeysError(.tampered, "no active key term") }
            return VaultJSON.response(status: .ok, KeyStatusBody(term: active.term, install_time: active.createdAt.formatted(.iso8601),
                                                                  encryptions: nil, terms: terms.map { .init(term: $0.term, status: $0.status.rawValue) }))
        }
    }

    // MARK: handlers

    struct InitRequest: Decodable {
        var secret_shares: Int?
        var secret_threshold: Int?
        /// Coffer's addition: `shamir` (default), `passphrase` or `keyfile`.
        var unseal_method: String?
        var passphrase: String?
    }

    private struct InitResponse: Encodable {
        let keys: [String]
        let keys_base64: [String]
        let root_token: String
        let unseal_method: String
    }

    private func initialize(_ request: Request, _ context: CofferRequestContext) async throws -> Response {
        let (method, passphrase) = try Self.unsealMethod(from: try await decode(InitRequest.self, request, context))
        let result = try await keys.initialize(method: method, passphrase: passphrase)
        return Self.keysResponse(shares: result.shares, keyFileKey: result.keyFileKey) { keys, base64 in
            InitResponse(keys: keys, keys_base64: base64, root_token: result.rootToken, unseal_method: method.name)
        }
    }

    /// Shares or a key file key, as hex and base64 lists; the plain copies are wiped after encoding.
    static func keysResponse(shares: [SecureHandle], keyFileKey: SecureHandle?, _ make: ([String], [String]) -> some Encodable) -> Response {
        var secrets = shares.map { $0.bytes.unprotectedCopy() }
        if let key = keyFileKey { secrets.append(key.bytes.unprotectedCopy()) }
        defer { for index in secrets.indices { Wipe.bytes(&secrets[index]) } }
        return VaultJSON.response(status: .ok, make(secrets.map { $0.map { String(format: "%02x", $0) }.joined() },
                                                    secrets.map { Data($0).base64EncodedString() }))
    }

    /// The unseal method an init or rekey request asks for.
    static func unsealMethod(from body: InitRequest) throws -> (UnsealMethod, SecureHandle?) {
        let method: UnsealMethod
        var passphrase: SecureHandle?
        switch body.unseal_method ?? "shamir" {
        case "shamir":
            guard let shares = body.secret_shares, let threshold = body.secret_threshold else {
                throw APIError(.badRequest, "secret_shares and secret_threshold are required for the shamir unseal method")
            }
            method = .shamir(shares: shares, threshold: threshold)
        case "passphrase":
            guard var text = body.passphrase.map({ Array($0.utf8) }) else {
                throw APIError(.badRequest, "passphrase is required for the passphrase unseal method")
            }
            passphrase = SecureHandle(SecureBytes(copying: text))
            Wipe.bytes(&text)
            method = .passphrase(.moderate())
        case "keyfile":
            method = .keyFile
        case let other:
            throw APIError(.badRequest, "unknown unseal_method \"\(other)\": use shamir, passphrase or keyfile")
        }
        return (method, passphrase)
    }

    private struct UnsealRequest: Decodable {
        var key: String?
        var reset: Bool?
    }

    private func unseal(_ request: Request, _ context: CofferRequestContext) async throws -> Response {
        let body = try await decode(UnsealRequest.self, request, context)
        if body.reset == true { return sealStatus(await keys.resetUnsealProgress()) }
        guard let text = body.key, !text.isEmpty else { throw APIError(.badRequest, "key is required (or reset: true)") }
        let status = await keys.status
        guard status.initialized else { throw APIError(.badRequest, "Coffer is not initialized: run coffer operator init") }
        var bytes = try Self.keyBytes(text, passphrase: status.type == "passphrase")
        defer { Wipe.bytes(&bytes) }
        return sealStatus(try await keys.unseal(with: SecureBytes(copying: bytes)))
    }

    private struct RewrapRequest: Decodable {
        var batch_size: Int?
        var retire: Bool?
    }

    private struct RewrapResponse: Encodable {
        let rewrapped: Int
        let remaining: Int
        let active_term: Int64
        let retired_terms: [Int64]
    }

    /// Coffer's addition: one batch of re-encryption onto the active term; the CLI calls it until
    /// `remaining` is 0.
    private func rewrap(_ request: Request, _ context: CofferRequestContext) async throws -> Response {
        try await requireRootToken(request)
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let body = buffer.readableBytes == 0 ? RewrapRequest() : try Self.decodeBody(RewrapRequest.self, buffer)
        let batch = body.batch_size ?? 500
        guard (1...10_000).contains(batch) else { throw APIError(.badRequest, "batch_size must be from 1 to 10000") }
        let progress = try await keys.rewrap(encryptedTables, batchSize: batch, retire: body.retire ?? false)
        return VaultJSON.response(status: .ok, RewrapResponse(rewrapped: progress.rewrapped, remaining: progress.remaining,
                                                              active_term: progress.activeTerm, retired_terms: progress.retiredTerms))
    }

    // MARK: helpers

    private func sealStatus(_ status: KeyHierarchy.Status) -> Response {
        VaultJSON.response(status: .ok, SealStatusBody(
            type: status.type, initialized: status.initialized, sealed: status.sealed, t: status.threshold, n: status.shares,
            progress: status.progress, nonce: "", version: HealthCheck.version, build_date: "", migration: false,
            recovery_seal: false, storage_type: backend))
    }

    private struct SealStatusBody: Encodable {
        let type: String
        let initialized: Bool
        let sealed: Bool
        let t: Int
        let n: Int
        let progress: Int
        let nonce: String
        let version: String
        let build_date: String
        let migration: Bool
        let recovery_seal: Bool
        let storage_type: String
    }

    private struct KeyStatusBody: Encodable {
        struct Term: Encodable { let term: Int64; let status: String }
        let term: Int64
        let install_time: String
        let encryptions: Int?
        let terms: [Term]
    }

    private func requireRootToken(_ request: Request) async throws {
        guard let token = Self.token(in: request) else { throw APIError(.forbidden, "permission denied") }
        guard await !keys.status.sealed else { throw APIError(.serviceUnavailable, "Coffer is sealed") }
        guard (try? await keys.isRootToken(token)) == true else { throw APIError(.forbidden, "permission denied") }
    }

    /// `X-Vault-Token`, or `Authorization: Bearer`.
    static func token(in request: Request) -> String? {
        if let name = HTTPField.Name("X-Vault-Token"), let token = request.headers[name], !token.isEmpty { return token }
        if let auth = request.headers[.authorization], auth.hasPrefix("Bearer ") {
            let token = String(auth.dropFirst("Bearer ".count))
            return token.isEmpty ? nil : token
        }
        return nil
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: CofferRequestContext) async throws -> T {
        try Self.decodeBody(type, try await request.body.collect(upTo: context.maxUploadSize))
    }

    static func decodeBody<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw APIError(.badRequest, "the request body is not the JSON this endpoint takes: \(Self.describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case DecodingError.keyNotFound(let key, _):
            return "\(key.stringValue) is missing"
        default:
            return "malformed JSON"
        }
    }

    /// An unseal key part as sent: shares and keys as hex or base64 (as Vault accepts), a passphrase as its UTF-8 bytes.
    static func keyBytes(_ text: String, passphrase: Bool) throws -> [UInt8] {
        let bytes = passphrase ? Array(text.utf8) : (hex(text) ?? Data(base64Encoded: text).map { Array($0) } ?? [])
        guard !bytes.isEmpty else { throw APIError(.badRequest, "key must be hex or base64") }
        return bytes
    }

    private static func hex(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0, !chars.isEmpty else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        for index in stride(from: 0, to: chars.count, by: 2) {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
