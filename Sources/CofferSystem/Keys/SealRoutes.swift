public import CofferAccess
import CofferCrypto
import CofferFoundation
public import CofferHTTP
public import CofferKeys
import Foundation
import HTTPTypes
import Hummingbird

/// `sys/init`, `sys/seal-status`, `sys/unseal`, `sys/seal`, `sys/rotate`, `sys/key-status`, in Vault's shapes.
///
/// `init`, `unseal` and the status reads need no token (as in Vault); `seal`, `rotate` and `rewrap` need
/// `sudo` on their path, `key-status` needs `read`.
public struct SealRoutes: Sendable {
    let keys: KeyHierarchy
    let backend: String
    /// The tables whose records `sys/rewrap` moves onto the newest key term.
    let encryptedTables: [EncryptedTable]
    /// Issues the root token a root generation ends with.
    let tokens: TokenService
    /// The installation's cluster id and name, which `seal-status` gives once unsealed (as Vault does).
    let identity: InstanceIdentity
    /// Wrong keys per client address, counted over unseal, rekey and root generation together.

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(keys: KeyHierarchy, backend: String, encryptedTables: [EncryptedTable], tokens: TokenService, identity: InstanceIdentity) {
        self.keys = keys
        self.backend = backend
        self.encryptedTables = encryptedTables
        self.tokens = tokens
        self.identity = identity
    }
    let attempts = KeyAttemptLimit()

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.probe("/v1/sys/init", method: .get) { _, _ in
            VaultJSON.response(status: .ok, ["initialized": await keys.status.initialized])
        }
        router.probe("/v1/sys/seal-status", method: .get) { _, _ in sealStatus(await keys.status) }
        router.openWrite("/v1/sys/init") { request, context, grant in try await initialize(request, context, grant) }
        router.openWrite("/v1/sys/unseal") { request, context, _ in try await unseal(request, context) }
        router.onWrite("/v1/sys/seal", access: .sudo) { _, _, _ in
            await keys.seal()
            return Response(status: .noContent)
        }
        router.onWrite("/v1/sys/rewrap", access: .sudo) { request, context, _ in try await rewrap(request, context) }
        // `sys/rotate/keyring` is OpenBao's newer name for it, which its CLI's `operator rotate` calls.
        for path in ["/v1/sys/rotate", "/v1/sys/rotate/keyring"] {
            router.onWrite(path, access: .sudo) { _, _, _ in
                _ = try await keys.rotate()
                return Response(status: .noContent)
            }
        }
        RekeyRoutes(keys: keys, attempts: attempts).register(on: router)
        GenerateRootRoutes(keys: keys, tokens: tokens, attempts: attempts).register(on: router)
        router.on("/v1/sys/key-status", method: .get) { _, _, _ in
            let terms = try await keys.keyStatus()
            guard let active = terms.last(where: { $0.status == .active }) else { throw KeysError(.tampered, "no active key term") }
            return VaultJSON.response(
                status: .ok,
                FlatEnvelope(
                    fields: KeyStatusBody(
                        term: active.term, install_time: active.createdAt.formatted(.iso8601),
                        encryptions: nil, terms: terms.map { .init(term: $0.term, status: $0.status.rawValue) })))
        }
    }

    // MARK: handlers

    package struct InitRequest: Decodable {
        var secret_shares: Int?
        var secret_threshold: Int?
        /// Coffer's addition: `shamir` (default), `passphrase` or `keyfile`.
        var unseal_method: String?
        var passphrase: String?
        /// Rekey only (Vault's): whether the new keys must be sent back before they are written.
        var require_verification: Bool?
        /// Vault's PGP options, which Coffer refuses.
        var pgp_keys: [String]?
        var backup: Bool?
    }

    private struct InitResponse: Encodable {
        let keys: [String]
        let keys_base64: [String]
        let root_token: String
        let unseal_method: String
    }

    private func initialize(_ request: Request, _ context: CofferRequestContext, _ grant: Grant) async throws -> Response {
        let (method, passphrase) = try Self.unsealMethod(from: try await decode(InitRequest.self, request, context))
        let result = try await keys.initialize(method: method, passphrase: passphrase)
        // Recorded as a keyed hash only (withheld while sealed, as it is right after init).
        grant.auditSensitive("root_token", result.rootToken)
        grant.auditFact("root_token_accessor", result.rootTokenAccessor)
        return Self.keysResponse(shares: result.shares, keyFileKey: result.keyFileKey) { keys, base64 in
            InitResponse(keys: keys, keys_base64: base64, root_token: result.rootToken, unseal_method: method.name)
        }
    }

    /// Shares or a key file key, as hex and base64 lists; the plain copies are wiped after encoding.
    static func keysResponse(shares: [SecureHandle], keyFileKey: SecureHandle?, _ make: ([String], [String]) -> some Encodable) -> Response
    {
        var secrets = shares.map { $0.bytes.unprotectedCopy() }
        if let key = keyFileKey { secrets.append(key.bytes.unprotectedCopy()) }
        defer { for index in secrets.indices { Wipe.bytes(&secrets[index]) } }
        return VaultJSON.response(
            status: .ok,
            make(
                secrets.map(Hex.encode),
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

    package struct UnsealRequest: Decodable {
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
        return sealStatus(try await attempts.run(context) { try await keys.unseal(with: SecureBytes(copying: bytes)) })
    }

    package struct RewrapRequest: Decodable {
        var batch_size: Int?
        var retire: Bool?
    }

    private struct RewrapResponse: Encodable {
        let rewrapped: Int
        /// Row authentication tags moved onto the active term.
        let retagged: Int
        let remaining: Int
        let active_term: Int64
        let retired_terms: [Int64]
    }

    /// Coffer's addition: one batch of re-encryption onto the active term; the CLI calls it until
    /// `remaining` is 0.
    private func rewrap(_ request: Request, _ context: CofferRequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let body = buffer.readableBytes == 0 ? RewrapRequest() : try Self.decodeBody(RewrapRequest.self, buffer)
        let batch = body.batch_size ?? 500
        guard (1...10_000).contains(batch) else { throw APIError(.badRequest, "batch_size must be from 1 to 10000") }
        let progress = try await keys.rewrap(encryptedTables, batchSize: batch, retire: body.retire ?? false)
        return VaultJSON.response(
            status: .ok,
            RewrapResponse(
                rewrapped: progress.rewrapped, retagged: progress.retagged, remaining: progress.remaining,
                active_term: progress.activeTerm, retired_terms: progress.retiredTerms))
    }

    // MARK: helpers

    private func sealStatus(_ status: KeyHierarchy.Status) -> Response {
        VaultJSON.response(
            status: .ok,
            SealStatusBody(
                type: status.type, initialized: status.initialized, sealed: status.sealed, t: status.threshold, n: status.shares,
                progress: status.progress, nonce: "", version: CofferVersion.current, commit_date: "", migration: false,
                recovery_seal: false, storage_type: backend, cluster_name: status.sealed ? nil : identity.clusterName,
                cluster_id: status.sealed ? nil : identity.clusterID))
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
        /// OpenBao's field (Vault says `build_date`); Coffer records neither, so it is empty.
        let commit_date: String
        let migration: Bool
        let recovery_seal: Bool
        let storage_type: String
        /// Present once unsealed.
        let cluster_name: String?
        let cluster_id: String?
    }

    private struct KeyStatusBody: Encodable {
        struct Term: Encodable {
            let term: Int64
            let status: String
        }
        let term: Int64
        let install_time: String
        let encryptions: Int?
        let terms: [Term]
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: CofferRequestContext) async throws -> T {
        try await Body.decode(type, request, context)
    }

    static func decodeBody<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        try Body.decode(type, buffer)
    }

    /// An unseal key part as sent: shares and keys as hex or base64 (as Vault accepts), a passphrase as its UTF-8 bytes.
    package static func keyBytes(_ text: String, passphrase: Bool) throws -> [UInt8] {
        let bytes =
            passphrase
            ? Array(text.utf8) : (Hex.decode(text).flatMap { $0.isEmpty ? nil : $0 } ?? Data(base64Encoded: text).map { Array($0) } ?? [])
        guard !bytes.isEmpty else { throw APIError(.badRequest, "key must be hex or base64") }
        return bytes
    }
}
