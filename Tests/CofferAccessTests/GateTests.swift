import CofferAccess
import CofferFoundation
import CofferHTTP
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The Gate over HTTP: every route gated, tokens in Vault's model, policies, and the audit trail.
struct GateTests {
    /// The paths Vault also leaves open; any other route without a token must be refused.
    static let openRoutes: Set<String> = [
        "GET /v1/sys/health", "HEAD /v1/sys/health", "GET /v1/sys/seal-status", "GET /v1/sys/init", "PUT /v1/sys/init", "POST /v1/sys/init",
        "PUT /v1/sys/unseal", "POST /v1/sys/unseal", "GET /v1/sys/rekey/init", "PUT /v1/sys/rekey/init", "POST /v1/sys/rekey/init",
        "DELETE /v1/sys/rekey/init", "PUT /v1/sys/rekey/update", "POST /v1/sys/rekey/update", "GET /v1/sys/rekey/verify",
        "PUT /v1/sys/rekey/verify", "POST /v1/sys/rekey/verify", "DELETE /v1/sys/rekey/verify",
        "POST /v1/auth/:mount/login", "PUT /v1/auth/:mount/login",
        // Root generation: the unseal keys are the credential, as for rekey.
        "GET /v1/sys/generate-root/attempt", "PUT /v1/sys/generate-root/attempt", "POST /v1/sys/generate-root/attempt",
        "DELETE /v1/sys/generate-root/attempt", "PUT /v1/sys/generate-root/update", "POST /v1/sys/generate-root/update",
        // The wrapping token is the credential (Vault leaves these open too).
        "POST /v1/sys/wrapping/unwrap", "PUT /v1/sys/wrapping/unwrap", "POST /v1/sys/wrapping/lookup", "PUT /v1/sys/wrapping/lookup",
        "POST /v1/sys/wrapping/rewrap", "PUT /v1/sys/wrapping/rewrap",
        // Orchestrators' liveness and readiness probes (Kubernetes and Consul send no token); they say nothing
        // but alive/ready and, when not ready, why (sealed, storage, audit).
        "GET /v1/coffer/health/live", "GET /v1/coffer/health/ready",
        // Vault's CLI asks these before its real call; Vault leaves them open too. The mount preflight answers
        // only a token that may use the mount (checked by the handler).
        "GET /v1/sys/leader", "GET /v1/sys/internal/ui/mounts/**"
    ]

    /// Walks every registered route: without a token each gated one is 403 "permission denied"; with a token
    /// holding only `default`, only default's paths answer; the open routes are exactly Vault's open few.
    @Test func everyRouteIsGated() async throws {
        try await withUnsealedServer { server, root in
            let gated = server.makeGatedRouter()
            let routes = gated.routes
            #expect(routes.count > 30)
            let open = Set(routes.filter { $0.access == .open || $0.access == .probe }.map { "\($0.method) \($0.path)" })
            #expect(open == Self.openRoutes)
            let defaultAllows: Set<String> = [
                "GET /v1/auth/token/lookup-self", "POST /v1/auth/token/lookup-self", "PUT /v1/auth/token/lookup-self",
                "POST /v1/auth/token/renew-self", "PUT /v1/auth/token/renew-self",
                "POST /v1/auth/token/revoke-self", "PUT /v1/auth/token/revoke-self",
                "POST /v1/sys/capabilities-self", "PUT /v1/sys/capabilities-self"
            ]
            try await Application(router: gated.hummingbirdRouter).test(.router) { client in
                for route in routes where route.access != .open && route.access != .probe {
                    let uri = route.path.replacingOccurrences(of: ":name", with: "some-name").replacingOccurrences(
                        of: ":mount", with: "secret"
                    )
                    .replacingOccurrences(of: ":path", with: "some-mount").replacingOccurrences(of: "**", with: "app/db")
                    try await client.execute(uri: uri, method: route.method) { response in
                        #expect(response.status == .forbidden, "\(route.method) \(route.path) without a token")
                        #expect(response.headers[.contentType] == "application/json")
                        let errors = try JSON.decode(VaultAnswer<UnreadData>.self, response.body).errors
                        #expect(errors == ["permission denied"], "\(route.method) \(route.path)")
                    }
                    let plain = try await client.createToken(parent: root, ["policies": ["default"]])
                    let (status, _) = try await client.call(uri, route.method, token: plain.token)
                    if defaultAllows.contains("\(route.method) \(route.path)") {
                        #expect(status != .forbidden, "\(route.method) \(route.path) is in the default policy")
                    } else {
                        #expect(status == .forbidden, "\(route.method) \(route.path) with only the default policy")
                    }
                }
            }
            #expect(try await server.verifyTrail().isIntact)
        }
    }

    func tokenLifecycle(_ server: CofferServer, _ root: String) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            try await client.call(
                "/v1/sys/policies/acl/reader", .put, token: root,
                [
                    "policy":
                        """
                    path \"secret/data/app/*\" { capabilities = [\"read\"] }\npath \"auth/token/create\" { capabilities = \
                    [\"update\"] }
                    """
                ])
            let parent = try await client.createToken(parent: root, ["policies": ["reader"], "ttl": "1h", "display_name": "ci"])
            let child = try await client.createToken(parent: parent.token, ["policies": ["reader"], "ttl": "2h"])
            let orphan = try await client.createToken(parent: root, ["policies": ["reader"], "no_parent": true])

            // lookup-self in Vault's shape; the child's TTL is capped by its parent's.
            let (status, body) = try await client.answer(Sys.TokenLookup.self, "/v1/auth/token/lookup-self", .get, token: child.token)
            #expect(status == .ok)
            let data = try #require(body.data)
            #expect(data.policies == ["default", "reader"])
            #expect(data.accessor == child.accessor)
            #expect(data.ttl <= 3600 && data.ttl > 3500)
            #expect(!data.orphan && data.displayName == "token")
            // Authorization: Bearer works as X-Vault-Token does.
            try await client.execute(uri: "/v1/auth/token/lookup-self", method: .get, headers: [.authorization: "Bearer \(child.token)"]) {
                #expect($0.status == .ok)
            }
            // A non-root caller cannot hand out policies it lacks.
            let (escalate, escalateBody) = try await client.answer(
                UnreadData.self, "/v1/auth/token/create", token: parent.token, ["policies": ["admin"]])
            #expect(escalate == .badRequest)
            #expect(escalateBody.errors?.first?.contains("subset") == true)
            // lookup by token (root), lookup-accessor, renew-self.
            #expect(try await client.call("/v1/auth/token/lookup", token: root, ["token": child.token]).0 == .ok)
            #expect(try await client.call("/v1/auth/token/lookup", token: root, ["token": "cfs.nope"]).0 == .forbidden)
            let (_, byAccessor) = try await client.answer(
                Sys.TokenLookup.self, "/v1/auth/token/lookup-accessor", token: root, ["accessor": parent.accessor])
            #expect(byAccessor.data?.displayName == "token-ci")
            let (renewed, renewBody) = try await client.answer(
                UnreadData.self, "/v1/auth/token/renew-self", token: parent.token, ["increment": "30m"])
            #expect(renewed == .ok)
            let lease = try #require(renewBody.auth).leaseDuration
            #expect(lease <= 1800 && lease > 1700)
            // Revoking the parent revokes the child; the orphan stays.
            #expect(try await client.call("/v1/auth/token/revoke", token: root, ["token": parent.token]).0 == .noContent)
            #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: parent.token).0 == .forbidden)
            #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: child.token).0 == .forbidden)
            #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: orphan.token).0 == .ok)
            // Revoking an unknown token is fine (204), as in Vault.
            #expect(try await client.call("/v1/auth/token/revoke", token: root, ["token": "cfs.unknown"]).0 == .noContent)
            // The initial root token can revoke itself; then it is refused.
            #expect(try await client.call("/v1/auth/token/revoke-self", token: root).0 == .noContent)
            #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: root).0 == .forbidden)
        }
        #expect(try await server.verifyTrail().isIntact)
    }

    @Test(arguments: TestDatabase.backends)
    func aRecordedChangeHasItsRequestEntryOnce(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend, aRecordedChangeHasItsRequestEntryOnce)
    }

    /// A request whose entry the Gate leaves to its change (`.withChange`): the first `Grant.transaction` commits
    /// the entry with its change, a second one runs plain; an operation that ends without one still gets its
    /// request entry, before its response entry. Each request has exactly one of each, in that order.
    func aRecordedChangeHasItsRequestEntryOnce(_ server: CofferServer, _ root: String) async throws {
        let database = server.database
        try await database.transaction { try $0.executeScript(unsafeSQL: "CREATE TABLE recorded_changes (n INTEGER)") }
        func request(_ id: String) throws -> GateRequest {
            GateRequest(
                token: root, path: try CanonicalPath(validating: "coffer/test/recorded"), operation: .update, requestID: id,
                remoteAddress: "test", requestEntry: .withChange)
        }
        try await server.gate.perform(try request("two-changes"), status: { _ in 200 }) { grant in
            for n in 1...2 {
                _ = try await grant.transaction(on: database) { try $0.execute("INSERT INTO recorded_changes (n) VALUES (\(n))") }
            }
        }
        await #expect(throws: AccessError.self) {
            try await server.gate.perform(try request("refused-first"), status: { _ in 400 }) { _ in
                throw AccessError(.invalidRequest, "refused before any change")
            }
        }
        #expect(try await database.read { try $0.queryScalar(Int.self, "SELECT count(*) FROM recorded_changes") } == 2)
        for id in ["two-changes", "refused-first"] {
            let kinds = try await database.read { conn in
                try conn.query("SELECT kind FROM audit_log WHERE request_id = \(id) ORDER BY sequence").map {
                    try $0.decode(String.self, at: 0)
                }
            }
            #expect(kinds == ["request", "response"], "\(id): \(kinds)")
        }
        try await database.transaction { try $0.executeScript(unsafeSQL: "DROP TABLE recorded_changes") }
    }

    @Test(arguments: TestDatabase.backends)
    func tokenLifecycle(_ backend: TestBackend) async throws { try await withUnsealedServer(backend, tokenLifecycle) }

    /// Used-up and expired tokens are refused at once with 403, never 401.
    /// An identity this instance keeps (IdentityCache) is used only while the revocation epoch stays: a policy
    /// narrowed, widened again, and a token row deleted underneath the service (not through its API) are each
    /// honoured by the very next request; with the epoch row gone nothing is kept, and revocation still holds.
    @Test(arguments: TestDatabase.backends)
    func aKeptIdentityIsDroppedWhenTheEpochMoves(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                func setPolicy(_ capabilities: String) async throws {
                    let policy = "path \"sys/mounts\" { capabilities = [\(capabilities)] }"
                    #expect(try await client.call("/v1/sys/policies/acl/mounts", .put, token: root, ["policy": policy]).0 == .noContent)
                }
                func epoch() async throws -> Int64 {
                    try await server.database.read { try $0.queryScalar(Int64.self, "SELECT value FROM gate_epoch WHERE id = 1") } ?? -1
                }
                try await setPolicy("\"read\"")
                let token = try await client.createToken(parent: root, ["policies": ["mounts"]])
                for _ in 0..<3 { #expect(try await client.call("/v1/sys/mounts", .get, token: token.token).0 == .ok) }
                let before = try await epoch()
                try await setPolicy("\"deny\"")
                #expect(try await epoch() > before, "a policy write moves the epoch")
                #expect(try await client.call("/v1/sys/mounts", .get, token: token.token).0 == .forbidden, "narrowed at once")
                try await setPolicy("\"read\"")
                #expect(try await client.call("/v1/sys/mounts", .get, token: token.token).0 == .ok, "widened at once")
                try await server.database.execute("DELETE FROM tokens WHERE accessor = \(token.accessor)")
                #expect(try await client.call("/v1/sys/mounts", .get, token: token.token).0 == .forbidden, "deleted underneath")
                // A token with limited uses is never kept, so its last use (its row deleted) moves nothing.
                let limited = try await client.createToken(parent: root, ["policies": ["mounts"], "num_uses": 1])
                let beforeUse = try await epoch()
                #expect(try await client.call("/v1/sys/mounts", .get, token: limited.token).0 == .ok)
                #expect(try await client.call("/v1/sys/mounts", .get, token: limited.token).0 == .forbidden, "used up")
                #expect(try await epoch() == beforeUse)

                // Without the epoch row (a database writer deleted it) nothing is kept: every request reads the token.
                let other = try await client.createToken(parent: root, ["policies": ["mounts"]])
                #expect(try await client.call("/v1/sys/mounts", .get, token: other.token).0 == .ok)
                try await server.database.execute("DELETE FROM gate_epoch")
                #expect(try await client.call("/v1/sys/mounts", .get, token: other.token).0 == .ok)
                try await server.database.execute("DELETE FROM tokens WHERE accessor = \(other.accessor)")
                #expect(try await client.call("/v1/sys/mounts", .get, token: other.token).0 == .forbidden)
            }
        }
    }

    /// A KV read with a kept identity confirms the epoch in its own statement (no read of it by the Gate); a
    /// moved epoch runs the read again on the token as stored: a narrowed policy, a deleted token row and a
    /// deleted epoch row each decide the very next read, and a read that does not confirm (metadata) is checked
    /// by the Gate after it: its 200 or 404 never reaches a token that has lost the right.
    @Test(arguments: TestDatabase.backends)
    func aKVReadConfirmsTheEpochInItsOwnStatement(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/sys/mounts/kvc", .post, token: root, ["type": "kv-v2"]).0 == .noContent)
                #expect(try await client.call("/v1/kvc/data/app", .post, token: root, ["data": ["k": "v"]]).0 == .ok)
                func setPolicy(_ capabilities: String) async throws {
                    let policy = ["kvc/data/app", "kvc/metadata/*"].map { "path \"\($0)\" { capabilities = [\(capabilities)] }" }
                        .joined(separator: "\n")
                    #expect(try await client.call("/v1/sys/policies/acl/kvc", .put, token: root, ["policy": policy]).0 == .noContent)
                }
                try await setPolicy("\"read\"")
                let token = try await client.createToken(parent: root, ["policies": ["kvc"]])
                for _ in 0..<3 {
                    #expect(try await client.call("/v1/kvc/data/app", .get, token: token.token).0 == .ok)
                    #expect(try await client.call("/v1/kvc/metadata/missing", .get, token: token.token).0 == .notFound)
                }
                try await setPolicy("\"deny\"")
                #expect(try await client.call("/v1/kvc/data/app", .get, token: token.token).0 == .forbidden, "narrowed at once")
                #expect(try await client.call("/v1/kvc/metadata/missing", .get, token: token.token).0 == .forbidden, "and not a 404")
                try await setPolicy("\"read\"")
                #expect(try await client.call("/v1/kvc/data/app", .get, token: token.token).0 == .ok)
                try await server.database.execute("DELETE FROM gate_epoch")
                #expect(try await client.call("/v1/kvc/data/app", .get, token: token.token).0 == .ok, "no epoch row: read as stored")
                try await server.database.execute("DELETE FROM tokens WHERE accessor = \(token.accessor)")
                #expect(try await client.call("/v1/kvc/data/app", .get, token: token.token).0 == .forbidden)
                #expect(try await client.call("/v1/kvc/metadata/missing", .get, token: token.token).0 == .forbidden)
            }
        }
    }

    @Test func exhaustedAndExpiredTokens() async throws {
        let time = ManualTime()
        try await withUnsealedServer(time: time) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let limited = try await client.createToken(parent: root, ["num_uses": 2])
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: limited.token).0 == .ok)
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: limited.token).0 == .ok)
                let (third, body) = try await client.answer(UnreadData.self, "/v1/auth/token/lookup-self", .get, token: limited.token)
                #expect(third == .forbidden)
                #expect(body.errors == ["permission denied"])
                // The server's clock is the test's: the token's TTL passes without the test sleeping through it.
                // ManualTime moves with the real clock too, so each side of the expiry keeps half an hour of slack
                // for a slow run (a 5 s TTL failed once on a loaded machine, the test's steps a second apart).
                let brief = try await client.createToken(parent: root, ["ttl": "1h"])
                time.advance(by: 1800)
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: brief.token).0 == .ok)
                time.advance(by: 1801)
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: brief.token).0 == .forbidden)
                // Malformed tokens: too long, control characters.
                #expect(
                    try await client.call("/v1/auth/token/lookup-self", .get, token: String(repeating: "a", count: 5000)).0 == .forbidden)
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: "cfs.a b").0 == .forbidden)
                // Bad parameters: 400 with the field named, nothing made.
                let (bad, badBody) = try await client.answer(UnreadData.self, "/v1/auth/token/create", token: root, ["ttl": "soon"])
                #expect(bad == .badRequest)
                #expect(badBody.errors?.first?.contains("ttl") == true)
            }
        }
    }

    func policyEndpoints(_ server: CofferServer, _ root: String) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            let good = "path \"secret/data/app/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n"
            #expect(try await client.call("/v1/sys/policies/acl/app", .put, token: root, ["policy": good]).0 == .noContent)
            // A policy that does not parse: 400 with line and column, and the stored one is unchanged.
            let (status, body) = try await client.answer(
                UnreadData.self, "/v1/sys/policies/acl/app", .put, token: root,
                ["policy": "path \"secret/*\" {\n  capabilities = [\"read\", \"fly\"]\n}"])
            #expect(status == .badRequest)
            let message = try #require(body.errors?.first)
            #expect(message.contains("2:") && message.contains("fly"), "\(message)")
            let (_, read) = try await client.answer(Sys.Policy.self, "/v1/sys/policies/acl/app", .get, token: root)
            #expect(read.data?.policy == good)
            // JSON policies are accepted too (hvac json.dumps a dict).
            let json = #"{"path": {"sys/audit-trail/*": {"capabilities": ["read"]}}}"#
            #expect(try await client.call("/v1/sys/policies/acl/jsonpolicy", .put, token: root, ["policy": json]).0 == .noContent)
            try await client.execute(uri: "/v1/sys/policies/acl", method: GatedRouter.list, headers: [vaultToken: root]) { response in
                let keys = try VaultAnswer<KV.Keys>(body: response.body).data?.keys
                #expect(keys == ["app", "default", "jsonpolicy", "root"])
            }
            #expect(try await client.call("/v1/sys/policies/acl?list=true", .get, token: root).0 == .ok)
            #expect(try await client.call("/v1/sys/policies/acl/root", .put, token: root, ["policy": good]).0 == .badRequest)
            #expect(try await client.call("/v1/sys/policies/acl/root", .delete, token: root).0 == .badRequest)
            #expect(try await client.call("/v1/sys/policies/acl/default", .delete, token: root).0 == .badRequest)
            #expect(try await client.call("/v1/sys/policies/acl/app", .delete, token: root).0 == .noContent)
            #expect(try await client.call("/v1/sys/policies/acl/app", .get, token: root).0 == .notFound)
            // The legacy path reads `rules`.
            let (legacyStatus, legacy) = try await client.plain(LegacyRules.self, "/v1/sys/policy/default", .get, token: root)
            #expect(legacyStatus == .ok && legacy.rules.contains("lookup-self"))
            // A change applies at once to live tokens.
            try await client.call(
                "/v1/sys/policies/acl/keys", .put, token: root, ["policy": "path \"sys/key-status\" { capabilities = [\"read\"] }"])
            let holder = try await client.createToken(parent: root, ["policies": ["keys"]])
            #expect(try await client.call("/v1/sys/key-status", .get, token: holder.token).0 == .ok)
            try await client.call(
                "/v1/sys/policies/acl/keys", .put, token: root, ["policy": "path \"sys/key-status\" { capabilities = [\"deny\"] }"])
            #expect(try await client.call("/v1/sys/key-status", .get, token: holder.token).0 == .forbidden)
        }
    }

    @Test(arguments: TestDatabase.backends)
    func policyEndpoints(_ backend: TestBackend) async throws { try await withUnsealedServer(backend, policyEndpoints) }

    /// Path traversal and encoded separators are refused before anything is looked up.
    @Test func ambiguousPathsAreRefused() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                for uri in [
                    "/v1/sys/../sys/key-status", "/v1/sys/policies/acl/a%2Fb", "/v1/sys/policies/acl/a%00", "/v1/sys/policies/acl/%2e%2e",
                    "/v1/sys/./key-status"
                ] {
                    let (status, body) = try await client.answer(UnreadData.self, uri, .get, token: root)
                    #expect(status == .badRequest, "\(uri)")
                    #expect(body.errors?.isEmpty == false, "\(uri)")
                }
                // Oversized bodies: 413 in Vault's shape.
                try await client.execute(
                    uri: "/v1/auth/token/create", method: .post, headers: [vaultToken: root],
                    body: ByteBuffer(string: String(repeating: " ", count: 2 << 20))
                ) { response in
                    #expect(response.status == .contentTooLarge)
                }
            }
        }
    }
}

/// `sys/policy/<name>`: the legacy path's `rules`, at the top level as older clients read it.
private struct LegacyRules: Decodable { let rules: String }
