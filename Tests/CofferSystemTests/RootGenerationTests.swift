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
        let shares = try await client.plain(Sys.InitKeys.self, "/v1/sys/init", .put, ["secret_shares": 3, "secret_threshold": 2]).1
            .keysBase64
        for share in shares.prefix(2) { #expect(try await client.call("/v1/sys/unseal", .put, token: nil, ["key": share]).0 == .ok) }
        return shares
    }

    @Test func rekeyWithoutVerificationAndAVerificationReset() async throws {
        try await withServer { server in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let old = try await initialise(client)
                let (_, started) = try await client.plain(
                    Sys.Rekey.self, "/v1/sys/rekey/init", .put, ["secret_shares": 1, "secret_threshold": 1, "require_verification": false])
                #expect(started.verificationRequired == false)
                let nonce = started.nonce
                #expect(
                    try await client.plain(Sys.Rekey.self, "/v1/sys/rekey/update", .put, ["key": old[0], "nonce": nonce]).1.progress == 1)
                let (_, done) = try await client.plain(Sys.Rekey.self, "/v1/sys/rekey/update", .put, ["key": old[1], "nonce": nonce])
                #expect(done.complete == true && done.verificationRequired == false, "\(done)")
                let newKey = try #require(done.keysBase64?.first)
                // Written: no rekey pending, the new key unseals and the old shares do not.
                #expect(try await client.plain(Sys.Rekey.self, "/v1/sys/rekey/init", .get).1.started == false)
                await server.keys.seal()
                #expect(try await client.call("/v1/sys/unseal", .put, token: nil, ["key": old[0]]).0 == .badRequest)
                let (unsealed, status) = try await client.plain(Sys.SealStatus.self, "/v1/sys/unseal", .put, ["key": newKey])
                #expect(unsealed == .ok && !status.sealed, "\(status)")

                // With verification: a reset forgets the new-key parts and changes the nonce; the new keys stay valid.
                let (_, again) = try await client.plain(
                    Sys.Rekey.self, "/v1/sys/rekey/init", .put, ["secret_shares": 2, "secret_threshold": 2])
                #expect(again.verificationRequired == true)
                let second = again.nonce
                let (_, handed) = try await client.plain(Sys.Rekey.self, "/v1/sys/rekey/update", .put, ["key": newKey, "nonce": second])
                let pending = try #require(handed.keysBase64)
                #expect(
                    try await client.plain(Sys.Rekey.self, "/v1/sys/rekey/verify", .put, ["key": pending[0], "nonce": second]).1.progress
                        == 1)
                let (_, reset) = try await client.plain(Sys.Rekey.self, "/v1/sys/rekey/verify", .delete)
                let verifyNonce = reset.nonce
                #expect(verifyNonce != second && reset.progress == 0 && reset.started == true, "\(reset)")
                #expect(
                    try await client.call("/v1/sys/rekey/verify", .put, token: nil, ["key": pending[0], "nonce": second]).0 == .badRequest)
                #expect(try await client.call("/v1/sys/rekey/verify", .put, token: nil, ["key": pending[0], "nonce": verifyNonce]).0 == .ok)
                #expect(
                    try await client.plain(Sys.Rekey.self, "/v1/sys/rekey/verify", .put, ["key": pending[1], "nonce": verifyNonce]).1
                        .complete
                        == true)

                // Coffer keeps no PGP backups: asking for one is refused up front.
                let (backup, backupBody) = try await client.plain(
                    Sys.Refusal.self, "/v1/sys/rekey/init", .put, ["secret_shares": 1, "secret_threshold": 1, "backup": true])
                #expect(backup == .badRequest && backupBody.errors.joined().contains("PGP"))
            }
        }
    }

    @Test(arguments: TestDatabase.backends)
    func generateRootMakesAWorkingRootTokenFromTheUnsealKeys(_ backend: TestBackend) async throws {
        try await withServer(backend) { server in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let shares = try await initialise(client)
                let (_, idle) = try await client.plain(Sys.GenerateRoot.self, "/v1/sys/generate-root/attempt", .get)
                let length = idle.otpLength
                #expect(!idle.started && idle.required == 2 && length > 20)

                #expect(try await client.call("/v1/sys/generate-root/attempt", .put, token: nil, ["otp": "short"]).0 == .badRequest)
                #expect(try await client.call("/v1/sys/generate-root/attempt", .put, token: nil, ["pgp_key": "abc"]).0 == .badRequest)
                let (_, started) = try await client.plain(Sys.GenerateRoot.self, "/v1/sys/generate-root/attempt", .put)
                let otp = try #require(started.otp)
                let nonce = started.nonce
                #expect(otp.utf8.count == length && started.started)
                #expect(try await client.call("/v1/sys/generate-root/attempt", .put, token: nil).0 == .badRequest, "one at a time")

                // A wrong share resets the progress and counts against the address.
                let wrong = Data((0..<33).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
                #expect(
                    try await client.plain(Sys.GenerateRoot.self, "/v1/sys/generate-root/update", .put, ["key": shares[0], "nonce": nonce])
                        .1
                        .progress == 1)
                #expect(
                    try await client.call("/v1/sys/generate-root/update", .put, token: nil, ["key": wrong, "nonce": nonce]).0 == .badRequest
                )
                #expect(try await client.plain(Sys.GenerateRoot.self, "/v1/sys/generate-root/attempt", .get).1.progress == 0)

                #expect(
                    try await client.plain(Sys.GenerateRoot.self, "/v1/sys/generate-root/update", .put, ["key": shares[1], "nonce": nonce])
                        .1
                        .complete == false)
                let (_, done) = try await client.plain(
                    Sys.GenerateRoot.self, "/v1/sys/generate-root/update", .put, ["key": shares[2], "nonce": nonce])
                #expect(done.complete, "\(done)")
                let encoded = done.encodedRootToken
                #expect(!encoded.isEmpty && done.encodedToken == encoded)

                // Decoded as Vault's CLI decodes it: base64 without padding, XOR the pad.
                var padded = encoded
                while padded.count % 4 != 0 { padded += "=" }
                let xored = try #require(Data(base64Encoded: padded))
                let token = String(decoding: zip(xored, Array(otp.utf8)).map { $0 ^ $1 }, as: UTF8.self)
                #expect(!encoded.contains(token))
                let data = try #require(
                    try await client.answer(Sys.TokenLookup.self, "/v1/auth/token/lookup-self", .get, token: token).1.data)
                #expect(data.policies == ["root"] && data.path == "auth/token/root", "\(data)")
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/made-by-new-root", .put, token: token,
                        ["policy": #"path "x/*" { capabilities = ["read"] }"#]
                    ).0 == .noContent)
                // Over: a second update has nothing to act on; the attempt reads as idle.
                #expect(
                    try await client.call("/v1/sys/generate-root/update", .put, token: nil, ["key": shares[0], "nonce": nonce]).0
                        == .badRequest)
                #expect(try await client.plain(Sys.GenerateRoot.self, "/v1/sys/generate-root/attempt", .get).1.started == false)
            }
            #expect(try await server.verifyTrail().isIntact)
        }
    }
}
