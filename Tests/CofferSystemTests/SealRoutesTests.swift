import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// init / unseal / seal / rotate over HTTP, in Vault's shapes, through the router.
struct SealRoutesTests {
    func body(_ object: [String: Any]) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
    }

    static let token = HTTPField.Name("X-Vault-Token")!

    func shamirFlow(_ server: CofferServer) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            try await client.execute(uri: "/v1/sys/init", method: .get) {
                let value = try JSON.decode(Sys.Initialized.self, $0.body).initialized
                #expect(value == false)
            }
            // Bad init requests: 400 with a reason, nothing stored.
            try await client.execute(uri: "/v1/sys/init", method: .put, body: try body(["secret_shares": 3, "secret_threshold": 5])) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/v1/sys/init", method: .put, body: ByteBuffer(string: "{not json")) {
                #expect($0.status == .badRequest)
                #expect($0.headers[.contentType] == "application/json")
            }
            try await client.execute(uri: "/v1/sys/init", method: .get) {
                let value = try JSON.decode(Sys.Initialized.self, $0.body).initialized
                #expect(value == false)
            }

            var keys: [String] = [], rootToken = ""
            try await client.execute(uri: "/v1/sys/init", method: .put, body: try body(["secret_shares": 3, "secret_threshold": 2])) {
                response in
                #expect(response.status == .ok)
                let answer = try JSON.decode(Sys.InitKeys.self, response.body)
                keys = answer.keysBase64
                rootToken = answer.rootToken
                #expect(answer.keys.count == 3)
            }
            #expect(keys.count == 3 && !rootToken.isEmpty)
            try await client.execute(uri: "/v1/sys/init", method: .put, body: try body(["secret_shares": 1, "secret_threshold": 1])) {
                #expect($0.status == .badRequest) // already initialised
            }
            try await client.execute(uri: "/v1/sys/health", method: .get) { #expect($0.status.code == 503) } // sealed
            try await client.execute(uri: "/v1/sys/seal-status", method: .get) { response in
                let status = try JSON.decode(Sys.SealStatus.self, response.body)
                #expect(status.sealed && status.t == 2 && status.n == 3)
            }
            // Token endpoints while sealed: 503; without a token: 403.
            try await client.execute(uri: "/v1/sys/rotate", method: .put, headers: [Self.token: rootToken]) {
                #expect($0.status == .serviceUnavailable)
            }
            try await client.execute(uri: "/v1/sys/rotate", method: .put) { #expect($0.status == .forbidden) }

            try await client.execute(uri: "/v1/sys/unseal", method: .put, body: try body(["key": keys[2]])) {
                let value = try JSON.decode(Sys.SealStatus.self, $0.body).progress
                #expect(value == 1)
            }
            try await client.execute(uri: "/v1/sys/unseal", method: .put, body: try body(["reset": true])) {
                let value = try JSON.decode(Sys.SealStatus.self, $0.body).progress
                #expect(value == 0)
            }
            try await client.execute(uri: "/v1/sys/unseal", method: .put, body: try body(["key": "not a key!"])) {
                #expect($0.status == .badRequest)
            }
            for key in [keys[2], keys[0]] {
                try await client.execute(uri: "/v1/sys/unseal", method: .put, body: try body(["key": key])) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/v1/sys/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/sys/rotate", method: .put, headers: [Self.token: "cfr.wrong"]) {
                #expect($0.status == .forbidden)
                let errors = try JSON.decode(Sys.Refusal.self, $0.body).errors
                #expect(errors == ["permission denied"])
            }
            try await client.execute(uri: "/v1/sys/rotate", method: .post, headers: [Self.token: rootToken]) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/v1/sys/key-status", method: .get, headers: [.authorization: "Bearer \(rootToken)"]) {
                let value = try JSON.decode(Sys.KeyStatus.self, $0.body).term
                #expect(value == 2)
            }
            try await client.execute(uri: "/v1/sys/seal", method: .put, headers: [Self.token: rootToken]) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/v1/sys/seal-status", method: .get) {
                let value = try JSON.decode(Sys.SealStatus.self, $0.body).sealed
                #expect(value == true)
            }
        }
    }

    @Test(arguments: TestDatabase.backends)
    func shamirFlow(_ backend: TestBackend) async throws { try await withServer(backend, shamirFlow) }

    /// Rekey over HTTP: init, the current key, the new keys handed out, verification, then only the new keys unseal.
    @Test func rekeyFlow() async throws {
        try await withServer { server in
            try await Application(router: server.makeRouter()).test(.router) { client in
                var key = ""
                try await client.execute(uri: "/v1/sys/init", method: .put, body: try body(["unseal_method": "keyfile"])) {
                    key = try JSON.decode(Sys.InitKeys.self, $0.body).keysBase64.first ?? ""
                }
                try await client.execute(
                    uri: "/v1/sys/rekey/init", method: .put, body: try body(["secret_shares": 3, "secret_threshold": 2])
                ) {
                    #expect($0.status == .serviceUnavailable) // sealed: nothing to rekey yet
                }
                try await client.execute(uri: "/v1/sys/unseal", method: .put, body: try body(["key": key])) { #expect($0.status == .ok) }
                var nonce = ""
                try await client.execute(
                    uri: "/v1/sys/rekey/init", method: .put, body: try body(["secret_shares": 3, "secret_threshold": 2])
                ) {
                    let answer = try JSON.decode(Sys.Rekey.self, $0.body)
                    nonce = answer.nonce
                    #expect(answer.required == 1 && answer.started == true)
                }
                var newKeys: [String] = []
                try await client.execute(uri: "/v1/sys/rekey/update", method: .put, body: try body(["key": key, "nonce": nonce])) {
                    let answer = try JSON.decode(Sys.Rekey.self, $0.body)
                    newKeys = answer.keysBase64 ?? []
                    #expect(answer.complete == true && answer.verificationRequired == true)
                }
                #expect(newKeys.count == 3)
                for (index, share) in newKeys.prefix(2).enumerated() {
                    try await client.execute(uri: "/v1/sys/rekey/verify", method: .put, body: try body(["key": share, "nonce": nonce])) {
                        // As Vault: the verification's progress until the last part, then `complete`.
                        let answer = try JSON.decode(Sys.Rekey.self, $0.body)
                        #expect(index == 1 ? answer.complete == true : answer.progress == 1)
                    }
                }
                try await client.execute(uri: "/v1/sys/seal-status", method: .get) { response in
                    let status = try JSON.decode(Sys.SealStatus.self, response.body)
                    #expect(status.type == "shamir" && status.t == 2 && status.n == 3)
                }
            }
        }
    }

    /// The keys are the only authorisation of unseal and rekey, so wrong keys are limited per address over
    /// both together: ten wrong rekey keys leave the address refused (429, Retry-After) even with the right
    /// unseal key; a second rekey cannot replace one in progress.
    @Test func wrongKeysAreLimitedAcrossUnsealAndRekey() async throws {
        try await withServer { server in
            try await Application(router: server.makeRouter()).test(.router) { client in
                var key = "", root = ""
                try await client.execute(uri: "/v1/sys/init", method: .put, body: try body(["unseal_method": "keyfile"])) {
                    let answer = try JSON.decode(Sys.InitKeys.self, $0.body)
                    key = answer.keysBase64.first ?? ""
                    root = answer.rootToken
                }
                try await client.execute(uri: "/v1/sys/unseal", method: .put, body: try body(["key": key])) { #expect($0.status == .ok) }
                var nonce = ""
                try await client.execute(
                    uri: "/v1/sys/rekey/init", method: .put, body: try body(["secret_shares": 1, "secret_threshold": 1])
                ) {
                    nonce = try JSON.decode(Sys.Rekey.self, $0.body).nonce
                }
                try await client.execute(
                    uri: "/v1/sys/rekey/init", method: .put, body: try body(["secret_shares": 5, "secret_threshold": 3])
                ) {
                    #expect($0.status == .badRequest)
                }
                try await client.execute(uri: "/v1/sys/rekey/init", method: .get) {
                    let current = try JSON.decode(Sys.Rekey.self, $0.body).nonce
                    #expect(current == nonce)
                }
                let wrong = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
                for _ in 0..<10 {
                    try await client.execute(uri: "/v1/sys/rekey/update", method: .put, body: try body(["key": wrong, "nonce": nonce])) {
                        #expect($0.status == .badRequest)
                    }
                }
                try await client.execute(uri: "/v1/sys/seal", method: .put, headers: [Self.token: root]) {
                    #expect($0.status == .noContent)
                }
                try await client.execute(uri: "/v1/sys/unseal", method: .put, body: try body(["key": key])) { response in
                    #expect(response.status == .tooManyRequests)
                    #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 0)
                    let errors = try JSON.decode(Sys.Refusal.self, response.body).errors
                    #expect(errors.first?.contains("too many wrong keys") == true)
                }
                try await client.execute(uri: "/v1/sys/seal-status", method: .get) {
                    let sealed = try JSON.decode(Sys.SealStatus.self, $0.body).sealed
                    #expect(sealed == true)
                }
            }
        }
    }

    @Test func passphraseFlow() async throws {
        try await withServer { server in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.execute(uri: "/v1/sys/init", method: .put, body: try body(["unseal_method": "passphrase"])) {
                    #expect($0.status == .badRequest)
                }
                try await client.execute(
                    uri: "/v1/sys/init", method: .put,
                    body: try body(["unseal_method": "passphrase", "passphrase": "correct horse battery"])
                ) { response in
                    #expect(response.status == .ok)
                    let keys = try JSON.decode(Sys.InitKeys.self, response.body).keys
                    #expect(keys == [])
                }
                try await client.execute(uri: "/v1/sys/unseal", method: .put, body: try body(["key": "wrong horse battery"])) {
                    #expect($0.status == .badRequest)
                }
                try await client.execute(uri: "/v1/sys/unseal", method: .put, body: try body(["key": "correct horse battery"])) {
                    let value = try JSON.decode(Sys.SealStatus.self, $0.body).sealed
                    #expect(value == false)
                }
            }
        }
    }
}
