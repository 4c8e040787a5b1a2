import CofferCrypto
import CofferFoundation
import CofferHTTP
import CofferKeys
import Foundation
import HTTPTypes
import Hummingbird

/// `sys/rekey/init`, `sys/rekey/update`, `sys/rekey/verify`, `sys/rekey/backup`, in Vault's shapes. No token: as
/// in Vault, the current unseal keys are the authorisation. Verification is required unless the init says
/// `"require_verification": false`: then the new keys are written only once the operator has sent them
/// back, so a lost answer never leaves a vault nobody can unseal. (Vault's default is the other way; Coffer
/// keeps the safe one and honours a client that asks, as hvac and the CLI do, explicitly.)
package struct RekeyRoutes: Sendable {
    let keys: KeyHierarchy
    let attempts: KeyAttemptLimit

    init(keys: KeyHierarchy, attempts: KeyAttemptLimit) {
        self.keys = keys
        self.attempts = attempts
    }

    func register(on router: GatedRouter) {
        router.open("/v1/sys/rekey/init", method: .get) { _, _, _ in status(await keys.rekeyStatus) }
        router.open("/v1/sys/rekey/init", method: .delete) { _, _, _ in
            await keys.rekeyCancel()
            return Response(status: .noContent)
        }
        router.open("/v1/sys/rekey/verify", method: .get) { _, _, _ in verifyStatus(await keys.rekeyStatus) }
        router.open("/v1/sys/rekey/verify", method: .delete) { _, _, _ in verifyStatus(await keys.rekeyResetVerification()) }
        // Coffer keeps no PGP-encrypted backup of unseal keys (an init asking for one is refused), so there is
        // never one to read, as in Vault without backups; deleting none succeeds.
        router.on("/v1/sys/rekey/backup", method: .get, access: .sudo) { _, _, _ in
            throw APIError(.badRequest, "no backed-up keys found")
        }
        router.on("/v1/sys/rekey/backup", method: .delete, access: .sudo) { _, _, _ in Response(status: .noContent) }
        router.openWrite("/v1/sys/rekey/init") { request, context, _ in
            let body = try SealRoutes.decodeBody(
                SealRoutes.InitRequest.self, try await request.body.collect(upTo: context.maxUploadSize))
            let (unsealMethod, passphrase) = try SealRoutes.unsealMethod(from: body)
            if body.backup == true || !(body.pgp_keys ?? []).isEmpty {
                throw APIError(
                    .badRequest,
                    "Coffer does not encrypt unseal keys to PGP keys, so it keeps no backup of them: leave out pgp_keys and backup")
            }
            return status(
                try await keys.rekeyInit(
                    method: unsealMethod, passphrase: passphrase,
                    requireVerification: body.require_verification ?? true))
        }
        router.openWrite("/v1/sys/rekey/update") { request, context, _ in
            let body = try SealRoutes.decodeBody(KeyRequest.self, try await request.body.collect(upTo: context.maxUploadSize))
            var bytes = try SealRoutes.keyBytes(body.key, passphrase: await keys.status.type == "passphrase")
            defer { Wipe.bytes(&bytes) }
            let answer = try await attempts.run(context) {
                try await keys.rekeyUpdate(with: SecureBytes(copying: bytes), nonce: body.nonce)
            }
            guard let result = answer else {
                return status(await keys.rekeyStatus)
            }
            return SealRoutes.keysResponse(shares: result.shares, keyFileKey: result.keyFileKey) { hex, base64 in
                UpdateComplete(
                    nonce: result.nonce, complete: true, keys: hex, keys_base64: base64, backup: false,
                    verification_required: result.verificationRequired,
                    verification_nonce: result.verificationRequired ? result.nonce : nil)
            }
        }
        router.openWrite("/v1/sys/rekey/verify") { request, context, _ in
            let body = try SealRoutes.decodeBody(KeyRequest.self, try await request.body.collect(upTo: context.maxUploadSize))
            // The new keys are in the new method's form.
            let verifyingPassphrase = await keys.rekeyMethodName == "passphrase"
            var bytes = try SealRoutes.keyBytes(body.key, passphrase: verifyingPassphrase)
            defer { Wipe.bytes(&bytes) }
            let done = try await attempts.run(context) {
                try await keys.rekeyVerify(with: SecureBytes(copying: bytes), nonce: body.nonce)
            }
            // As Vault: the verification's progress until the last part, then only that it is complete.
            guard done else { return verifyStatus(await keys.rekeyStatus) }
            return VaultJSON.response(status: .ok, VerifyResult(nonce: body.nonce, complete: true))
        }
    }

    package struct KeyRequest: Decodable {
        let key: String
        let nonce: String
    }

    private struct Status: Encodable {
        let nonce: String
        let started: Bool
        let t: Int
        let n: Int
        let progress: Int
        let required: Int
        @EncodesNull var pgp_fingerprints: [String]? = nil
        let backup: Bool
        let verification_required: Bool
        /// Present only while new keys wait for verification, as in Vault.
        let verification_nonce: String?
    }

    private struct UpdateComplete: Encodable {
        let nonce: String
        let complete: Bool
        let keys: [String]
        let keys_base64: [String]
        @EncodesNull var pgp_fingerprints: [String]? = nil
        let backup: Bool
        let verification_required: Bool
        /// Present only when the new keys must be verified, as in Vault.
        let verification_nonce: String?
    }

    private struct VerifyStatus: Encodable {
        let nonce: String
        let started: Bool
        let t: Int
        let n: Int
        let progress: Int
    }

    private struct VerifyResult: Encodable {
        let nonce: String
        let complete: Bool
    }

    private func status(_ status: KeyHierarchy.RekeyStatus) -> Response {
        VaultJSON.response(
            status: .ok,
            Status(
                nonce: status.nonce, started: status.started, t: status.newThreshold, n: status.newShares, progress: status.progress,
                required: status.required, backup: false, verification_required: status.verificationRequired,
                verification_nonce: status.verifying ? status.nonce : nil))
    }

    private func verifyStatus(_ current: KeyHierarchy.RekeyStatus) -> Response {
        VaultJSON.response(
            status: .ok,
            VerifyStatus(
                nonce: current.verifying ? current.nonce : "", started: current.verifying,
                t: current.newThreshold, n: current.newShares, progress: current.verificationProgress))
    }
}
