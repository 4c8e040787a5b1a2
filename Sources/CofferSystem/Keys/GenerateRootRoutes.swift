import CofferAccess
import CofferCrypto
import CofferHTTP
import CofferKeys
import Foundation
import HTTPTypes
import Hummingbird

/// `sys/generate-root/attempt` and `sys/generate-root/update`, in Vault's shapes: a new root token, for when
/// every root token was revoked, authorised by the unseal keys (no token, as in Vault). The token is handed
/// out XORed with a one-time pad the operator holds (`otp`), so the answer alone is worth nothing; `bao
/// operator generate-root -decode` (or `vault …`) turns it back into the token.
package struct GenerateRootRoutes: Sendable {
    let keys: KeyHierarchy
    let tokens: TokenService
    let attempts: KeyAttemptLimit

    init(keys: KeyHierarchy, tokens: TokenService, attempts: KeyAttemptLimit) {
        self.keys = keys
        self.tokens = tokens
        self.attempts = attempts
    }

    func register(on router: GatedRouter) {
        router.open("/v1/sys/generate-root/attempt", method: .get) { _, _, _ in status(await keys.rootGenerationStatus, otp: "") }
        router.open("/v1/sys/generate-root/attempt", method: .delete) { _, _, _ in
            await keys.generateRootCancel()
            return Response(status: .noContent)
        }
        router.openWrite("/v1/sys/generate-root/attempt") { request, context, grant in
            let body = try await Body.decodeIfPresent(AttemptRequest.self, request, context) ?? AttemptRequest()
            guard (body.pgp_key ?? "").isEmpty else {
                throw APIError(
                    .badRequest,
                    "Coffer does not encrypt the new root token to a PGP key: send no body, or an otp of "
                        + "\(TokenService.tokenLength) characters"
                )
            }
            // As Vault: the operator's own pad, or one made here and shown once in this answer.
            let generated = (body.otp ?? "").isEmpty
            var otp = generated ? Self.base62(count: TokenService.tokenLength) : Array((body.otp ?? "").utf8)
            defer { Wipe.bytes(&otp) }
            guard otp.count == TokenService.tokenLength else {
                throw APIError(
                    .badRequest, "otp must be \(TokenService.tokenLength) characters, the length of a Coffer token (otp_length)")
            }
            let started = try await keys.generateRootInit(otp: SecureHandle(SecureBytes(copying: otp)))
            let shown = generated ? String(decoding: otp, as: UTF8.self) : ""
            if generated { grant.auditSensitive("otp", shown) }
            return status(started, otp: shown)
        }
        router.openWrite("/v1/sys/generate-root/update") { request, context, grant in
            let body = try await Body.decode(UpdateRequest.self, request, context)
            guard let key = body.key, !key.isEmpty else {
                throw APIError(.badRequest, "'key' must be specified in request body as JSON")
            }
            var bytes = try SealRoutes.keyBytes(key, passphrase: await keys.status.type == "passphrase")
            defer { Wipe.bytes(&bytes) }
            let nonce = body.nonce ?? ""
            let pad = try await attempts.run(context) {
                try await keys.generateRootUpdate(with: SecureBytes(copying: bytes), nonce: nonce)
            }
            guard let pad else {
                let progress = await keys.rootGenerationStatus
                return VaultJSON.response(
                    status: .ok,
                    StatusBody(
                        nonce: nonce, started: true, progress: progress.progress,
                        required: progress.required, complete: false, encoded: "", otp: ""))
            }
            let issued = try await tokens.issueRoot(grant)
            let encoded = Self.encode(issued.token, with: pad)
            grant.auditSensitive("encoded_root_token", encoded)
            let required = await keys.rootGenerationStatus.required
            return VaultJSON.response(
                status: .ok,
                StatusBody(
                    nonce: nonce, started: true, progress: required, required: required,
                    complete: true, encoded: encoded, otp: ""))
        }
    }

    package struct AttemptRequest: Decodable {
        var otp: String?
        var pgp_key: String?
    }

    package struct UpdateRequest: Decodable {
        var key: String?
        var nonce: String?
    }

    private struct StatusBody: Encodable {
        let nonce: String
        let started: Bool
        let progress: Int
        let required: Int
        let complete: Bool
        let encoded_token: String
        let encoded_root_token: String
        let pgp_fingerprint = ""
        let otp: String
        let otp_length = TokenService.tokenLength

        init(nonce: String, started: Bool, progress: Int, required: Int, complete: Bool, encoded: String, otp: String) {
            self.nonce = nonce
            self.started = started
            self.progress = progress
            self.required = required
            self.complete = complete
            encoded_token = encoded
            encoded_root_token = encoded
            self.otp = otp
        }
    }

    private func status(_ status: KeyHierarchy.RootGenerationStatus, otp: String) -> Response {
        VaultJSON.response(
            status: .ok,
            StatusBody(
                nonce: status.nonce, started: status.started, progress: status.progress,
                required: status.required, complete: false, encoded: "", otp: otp))
    }

    /// Vault's encoding: the token's bytes XOR the pad's, base64 without padding.
    static func encode(_ token: String, with pad: SecureHandle) -> String {
        var bytes = Array(token.utf8)
        defer { Wipe.bytes(&bytes) }
        pad.bytes.withUnsafeBytes { otp in
            for index in bytes.indices where index < otp.count { bytes[index] ^= otp[index] }
        }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    /// `count` random letters and digits (Vault's base62 pad), without bias.
    static func base62(count: Int) -> [UInt8] {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        var out: [UInt8] = []
        while out.count < count {
            for byte in Random.bytes(count * 2) where byte < 248 && out.count < count { // 248 = 4 × 62
                out.append(alphabet[Int(byte) % 62])
            }
        }
        return out
    }
}
