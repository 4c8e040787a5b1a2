import CofferAccess
import CofferKeys
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Vault's operator endpoints beyond unseal: a rekey that asks for no verification is written at its last
/// key (the old keys stop working, the next rekey can start), `DELETE sys/rekey/verify` starts the
/// verification again, and `sys/generate-root` makes a working root token from the unseal keys alone,
/// handed out only as the token XOR a one-time pad.
struct RootGenerationTests {
    static let list = HTTPRequest.Method("LIST")!

    /// Initialises with three shares (threshold two) and unseals; returns the shares.
    private func initialise(_ client: some TestClientProtocol) async throws -> [String] {
        let (_, initialised) = try await client.call("/v1/sys/init", .put, token: nil, ["secret_shares": 3, "secret_threshold": 2])
        let shares = try #require(initialised["keys_base64"] as? [String])
        for share in shares.prefix(2) { #expect(try await client.call("/v1/sys/unseal", .put, token: nil, ["key": share]).0 == .ok) }
        return shares
    }

    @Test func rekeyWithoutVerificationAndAVerificationReset() async throws {
        try await withServer { server in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let old = try await initialise(client)
                let (_, started) = try await client.call(
                    "/v1/sys/rekey/init", .put, token: nil,
                    ["secret_shares": 1, "secret_threshold": 1, "require_verification": false])
                #expect(started["verification_required"] as? Bool == false)
                let nonce = try #require(started["nonce"] as? String)
                #expect(
                    try await client.call("/v1/sys/rekey/update", .put, token: nil, ["key": old[0], "nonce": nonce]).1["progress"] as? Int
                        == 1)
                let (_, done) = try await client.call("/v1/sys/rekey/update", .put, token: nil, ["key": old[1], "nonce": nonce])
                #expect(done["complete"] as? Bool == true && done["verification_required"] as? Bool == false, "\(done)")
                let newKey = try #require((done["keys_base64"] as? [String])?.first)
                // Written: no rekey pending, the new key unseals and the old shares do not.
                #expect(try await client.call("/v1/sys/rekey/init", .get, token: nil).1["started"] as? Bool == false)
                await server.keys.seal()
                #expect(try await client.call("/v1/sys/unseal", .put, token: nil, ["key": old[0]]).0 == .badRequest)
                let (unsealed, status) = try await client.call("/v1/sys/unseal", .put, token: nil, ["key": newKey])
                #expect(unsealed == .ok && status["sealed"] as? Bool == false, "\(status)")

                // With verification: a reset forgets the new-key parts and changes the nonce; the new keys stay valid.
                let (_, again) = try await client.call("/v1/sys/rekey/init", .put, token: nil, ["secret_shares": 2, "secret_threshold": 2])
                #expect(again["verification_required"] as? Bool == true)
                let second = try #require(again["nonce"] as? String)
                let (_, handed) = try await client.call("/v1/sys/rekey/update", .put, token: nil, ["key": newKey, "nonce": second])
                let pending = try #require(handed["keys_base64"] as? [String])
                #expect(
                    try await client.call("/v1/sys/rekey/verify", .put, token: nil, ["key": pending[0], "nonce": second]).1["progress"]
                        as? Int == 1)
                let (_, reset) = try await client.call("/v1/sys/rekey/verify", .delete, token: nil)
                let verifyNonce = try #require(reset["nonce"] as? String)
                #expect(verifyNonce != second && reset["progress"] as? Int == 0 && reset["started"] as? Bool == true, "\(reset)")
                #expect(
                    try await client.call("/v1/sys/rekey/verify", .put, token: nil, ["key": pending[0], "nonce": second]).0 == .badRequest)
                #expect(try await client.call("/v1/sys/rekey/verify", .put, token: nil, ["key": pending[0], "nonce": verifyNonce]).0 == .ok)
                #expect(
                    try await client.call("/v1/sys/rekey/verify", .put, token: nil, ["key": pending[1], "nonce": verifyNonce]).1["complete"]
                        as? Bool == true)

                // Coffer keeps no PGP backups: asking for one is refused up front.
                let (backup, backupBody) = try await client.call(
                    "/v1/sys/rekey/init", .put, token: nil,
                    ["secret_shares": 1, "secret_threshold": 1, "backup": true])
                #expect(backup == .badRequest && "\(backupBody)".contains("PGP"))
            }
        }
    }

    @Test(arguments: TestDatabase.backends)
    func generateRootMakesAWorkingRootTokenFromTheUnsealKeys(_ backend: TestBackend) async throws {
        try await withServer(backend) { server in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let shares = try await initialise(client)
                let (_, idle) = try await client.call("/v1/sys/generate-root/attempt", .get, token: nil)
                let length = try #require(idle["otp_length"] as? Int)
                #expect(idle["started"] as? Bool == false && idle["required"] as? Int == 2 && length > 20)

                #expect(try await client.call("/v1/sys/generate-root/attempt", .put, token: nil, ["otp": "short"]).0 == .badRequest)
                #expect(try await client.call("/v1/sys/generate-root/attempt", .put, token: nil, ["pgp_key": "abc"]).0 == .badRequest)
                let (_, started) = try await client.call("/v1/sys/generate-root/attempt", .put, token: nil)
                let otp = try #require(started["otp"] as? String)
                let nonce = try #require(started["nonce"] as? String)
                #expect(otp.utf8.count == length && started["started"] as? Bool == true)
                #expect(try await client.call("/v1/sys/generate-root/attempt", .put, token: nil).0 == .badRequest, "one at a time")

                // A wrong share resets the progress and counts against the address.
                let wrong = Data((0..<33).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
                #expect(
                    try await client.call("/v1/sys/generate-root/update", .put, token: nil, ["key": shares[0], "nonce": nonce]).1[
                        "progress"] as? Int == 1)
                #expect(
                    try await client.call("/v1/sys/generate-root/update", .put, token: nil, ["key": wrong, "nonce": nonce]).0 == .badRequest
                )
                #expect(try await client.call("/v1/sys/generate-root/attempt", .get, token: nil).1["progress"] as? Int == 0)

                #expect(
                    try await client.call("/v1/sys/generate-root/update", .put, token: nil, ["key": shares[1], "nonce": nonce]).1[
                        "complete"] as? Bool == false)
                let (_, done) = try await client.call("/v1/sys/generate-root/update", .put, token: nil, ["key": shares[2], "nonce": nonce])
                #expect(done["complete"] as? Bool == true, "\(done)")
                let encoded = try #require(done["encoded_root_token"] as? String)
                #expect(done["encoded_token"] as? String == encoded)

                // Decoded as Vault's CLI decodes it: base64 without padding, XOR the pad.
                var padded = encoded
                while padded.count % 4 != 0 { padded += "=" }
                let xored = try #require(Data(base64Encoded: padded))
                let token = String(decoding: zip(xored, Array(otp.utf8)).map { $0 ^ $1 }, as: UTF8.self)
                #expect(!encoded.contains(token))
                let (_, lookup) = try await client.call("/v1/auth/token/lookup-self", .get, token: token)
                let data = try #require(lookup["data"] as? [String: Any])
                #expect(data["policies"] as? [String] == ["root"] && data["path"] as? String == "auth/token/root", "\(data)")
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/made-by-new-root", .put, token: token,
                        ["policy": #"path "x/*" { capabilities = ["read"] }"#]
                    ).0 == .noContent)
                // Over: a second update has nothing to act on; the attempt reads as idle.
                #expect(
                    try await client.call("/v1/sys/generate-root/update", .put, token: nil, ["key": shares[0], "nonce": nonce]).0
                        == .badRequest)
                #expect(try await client.call("/v1/sys/generate-root/attempt", .get, token: nil).1["started"] as? Bool == false)
            }
            #expect(try await server.verifyTrail().isIntact)
        }
    }
}
