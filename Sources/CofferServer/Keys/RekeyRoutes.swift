import CofferCrypto
import CofferKeys
import Foundation
import HTTPTypes
import Hummingbird

/// `sys/rekey/init`, `sys/rekey/update`, `sys/rekey/verify`, in Vault's shapes. No token: as in Vault, the
/// current unseal keys are the authorisation. Verification is always required: the new keys are written
/// only once the operator has sent them back, so a lost answer never leaves a vault nobody can unseal.
struct RekeyRoutes: Sendable {
    let keys: KeyHierarchy
    let attempts: KeyAttemptLimit

    func register(on router: GatedRouter) {
        router.open("/v1/sys/rekey/init", method: .get) { _, _, _ in status(await keys.rekeyStatus) }
        router.open("/v1/sys/rekey/init", method: .delete) { _, _, _ in
            await keys.rekeyCancel()
            return Response(status: .noContent)
        }
        router.open("/v1/sys/rekey/verify", method: .get) { _, _, _ in
            let current = await keys.rekeyStatus
            return VaultJSON.response(status: .ok, VerifyStatus(nonce: current.nonce, started: current.verifying,
                                                                t: current.newThreshold, n: current.newShares,
                                                                progress: current.verificationProgress))
        }
        for method in [HTTPRequest.Method.put, .post] {
            router.open("/v1/sys/rekey/init", method: method) { request, context, _ in
                let body = try SealRoutes.decodeBody(SealRoutes.InitRequest.self, try await request.body.collect(upTo: context.maxUploadSize))
                let (unsealMethod, passphrase) = try SealRoutes.unsealMethod(from: body)
                return status(try await keys.rekeyInit(method: unsealMethod, passphrase: passphrase))
            }
            router.open("/v1/sys/rekey/update", method: method) { request, context, _ in
                let body = try SealRoutes.decodeBody(KeyRequest.self, try await request.body.collect(upTo: context.maxUploadSize))
                var bytes = try SealRoutes.keyBytes(body.key, passphrase: await keys.status.type == "passphrase")
                defer { Wipe.bytes(&bytes) }
                let answer = try await attempts.run(context) { try await keys.rekeyUpdate(with: SecureBytes(copying: bytes), nonce: body.nonce) }
                guard let result = answer else {
                    return status(await keys.rekeyStatus)
                }
                return SealRoutes.keysResponse(shares: result.shares, keyFileKey: result.keyFileKey) { hex, base64 in
                    UpdateComplete(nonce: result.nonce, complete: true, keys: hex, keys_base64: base64,
                                   verification_required: true, verification_nonce: result.nonce)
                }
            }
            router.open("/v1/sys/rekey/verify", method: method) { request, context, _ in
                let body = try SealRoutes.decodeBody(KeyRequest.self, try await request.body.collect(upTo: context.maxUploadSize))
                // The new keys are in the new method's form.
                let verifyingPassphrase = await keys.rekeyMethodName == "passphrase"
                var bytes = try SealRoutes.keyBytes(body.key, passphrase: verifyingPassphrase)
                defer { Wipe.bytes(&bytes) }
                let done = try await attempts.run(context) { try await keys.rekeyVerify(with: SecureBytes(copying: bytes), nonce: body.nonce) }
                return VaultJSON.response(status: .ok, VerifyResult(nonce: body.nonce, complete: done))
            }
        }
    }

    private struct KeyRequest: Decodable {
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
        let pgp_fingerprints: [String]?
        let backup: Bool
        let verification_required: Bool
        let verification_nonce: String
    }

    private struct UpdateComplete: Encodable {
        let nonce: String
        let complete: Bool
        let keys: [String]
        let keys_base64: [String]
        let verification_required: Bool
        let verification_nonce: String
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
        VaultJSON.response(status: .ok, Status(
            nonce: status.nonce, started: status.started, t: status.newThreshold, n: status.newShares, progress: status.progress,
            required: status.required, pgp_fingerprints: nil, backup: false, verification_required: true,
            verification_nonce: status.verifying ? status.nonce : ""))
    }
}
