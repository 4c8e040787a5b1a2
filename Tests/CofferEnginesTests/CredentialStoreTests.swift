import CofferAccess
import CofferCrypto
import CofferEngines
import CofferFoundation
import CofferHTTP
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

/// The credentials store through its KV version 2 API, on SQLite and on a real PostgreSQL: versions, CAS,
/// deletes, metadata, lists, expiry, sealing, usage, wrapping, and bad input.
struct CredentialStoreTests {
    @Test(arguments: TestDatabase.backends)
    func kvContract(_ backend: TestBackend) async throws {
        let time = ManualTime()
        try await withUnsealedServer(backend, time: time) { try await kvContract($0, $1, time) }
    }

    /// `time` is the server's clock: versions expire because the test moves it, not because it sleeps.
    func kvContract(_ server: CofferServer, _ root: String, _ time: ManualTime) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            // Versions go up by one; each version reads back as written; unknown ones are 404.
            for n in 1...3 {
                let (status, body) = try await client.answer(
                    KV.Version.self, "/v1/secret/data/app/db", token: root, ["data": ["password": "pw-\(n)", "n": n]])
                #expect(status == .ok)
                #expect(body.data?.version == n)
            }
            for n in 1...3 {
                let (status, body) = try await client.answer(KV.Read.self, "/v1/secret/data/app/db?version=\(n)", .get, token: root)
                #expect(status == .ok)
                let data = try #require(body.data?.data)
                #expect(data["password"] == .string("pw-\(n)") && data["n"] == .integer(Int64(n)))
            }
            #expect(try await client.call("/v1/secret/data/app/db?version=7", .get, token: root).0 == .notFound)
            #expect(try await client.call("/v1/secret/data/app/nothing", .get, token: root).0 == .notFound)

            // CAS: mismatch and a required-but-missing cas are 400 with Vault's words; nothing is written.
            let (casStatus, casBody) = try await client.answer(
                UnreadData.self, "/v1/secret/data/app/db", token: root, ["options": ["cas": 1], "data": ["a": "b"]])
            #expect(casStatus == .badRequest)
            #expect(casBody.errors?.first == "check-and-set parameter did not match the current version")
            try await client.call("/v1/secret/metadata/app/db", token: root, ["cas_required": true])
            let (required, requiredBody) = try await client.answer(
                UnreadData.self, "/v1/secret/data/app/db", token: root, ["data": ["a": "b"]])
            #expect(required == .badRequest && requiredBody.errors?.first == "check-and-set parameter required for this call")
            #expect(
                try await client.call("/v1/secret/data/app/db", token: root, ["options": ["cas": 3], "data": ["password": "pw-4"]]).0 == .ok
            )
            try await client.call("/v1/secret/metadata/app/db", token: root, ["cas_required": false])

            // max_versions trims the oldest; their reads are 404 and oldest_version moves up.
            try await client.call("/v1/secret/metadata/app/db", token: root, ["max_versions": 2])
            let metadata = try #require(try await client.answer(KV.Metadata.self, "/v1/secret/metadata/app/db", .get, token: root).1.data)
            #expect(metadata.currentVersion == 4 && metadata.oldestVersion == 3)
            #expect(Set(metadata.versions.keys) == ["3", "4"])
            #expect(try await client.call("/v1/secret/data/app/db?version=2", .get, token: root).0 == .notFound)

            // Soft delete answers 404 with the metadata; undelete restores; destroy is final.
            #expect(try await client.call("/v1/secret/data/app/db", .delete, token: root).0 == .noContent)
            let (deletedStatus, deletedBody) = try await client.answer(KV.Read.self, "/v1/secret/data/app/db", .get, token: root)
            #expect(deletedStatus == .notFound)
            let deleted = try #require(deletedBody.data)
            #expect(deleted.data == nil)
            #expect(!deleted.metadata.deletionTime.isEmpty)
            try await client.call("/v1/secret/undelete/app/db", token: root, ["versions": [4]])
            #expect(try await client.call("/v1/secret/data/app/db", .get, token: root).0 == .ok)
            try await client.call("/v1/secret/destroy/app/db", token: root, ["versions": [4]])
            try await client.call("/v1/secret/undelete/app/db", token: root, ["versions": [4]])
            let (destroyedStatus, destroyedBody) = try await client.answer(KV.Read.self, "/v1/secret/data/app/db", .get, token: root)
            #expect(destroyedStatus == .notFound)
            #expect(destroyedBody.data?.metadata.destroyed == true)
            let sealedLeft = try await server.database.read { conn in
                try conn.queryScalar(
                    Int.self,
                    "SELECT count(*) FROM api_credential_versions WHERE id = 'secret/app/db' AND version = 4 AND sealed IS NOT NULL")
            }
            #expect(sealedLeft == 0, "a destroyed version keeps no ciphertext")

            // Lists: names and folders, LIST and GET ?list=true; an empty folder is 404.
            try await client.call("/v1/secret/data/app/team/key", token: root, ["data": ["k": "v"]])
            try await client.call("/v1/secret/data/top", token: root, ["data": ["k": "v"]])
            let (_, listBody) = try await client.answer(KV.Keys.self, "/v1/secret/metadata/app", GatedRouter.list, token: root)
            #expect(listBody.data?.keys == ["db", "team/"])
            let (_, rootList) = try await client.answer(KV.Keys.self, "/v1/secret/metadata/?list=true", .get, token: root)
            #expect(rootList.data?.keys == ["app/", "top"])
            #expect(try await client.call("/v1/secret/metadata/empty", GatedRouter.list, token: root).0 == .notFound)

            // Metadata delete removes every version; the next write is version 1 again.
            #expect(try await client.call("/v1/secret/metadata/app/db", .delete, token: root).0 == .noContent)
            let (again, againBody) = try await client.answer(
                KV.Version.self, "/v1/secret/data/app/db", token: root, ["data": ["fresh": "yes"]])
            #expect(again == .ok && againBody.data?.version == 1)

            // Subkeys: the shape without the values.
            try await client.call("/v1/secret/data/nested", token: root, ["data": ["a": "1", "b": ["c": "2", "d": ["e": "3"]]]])
            let subkeys = try #require(
                try await client.answer(KV.Subkeys.self, "/v1/secret/subkeys/nested?depth=2", .get, token: root).1.data?.subkeys)
            #expect(subkeys == ["a": .null, "b": .object(["c": .null, "d": .null])])

            // delete_version_after on the engine: a version reads as deleted once its time has come.
            try await client.call("/v1/secret/config", token: root, ["delete_version_after": "1s"])
            try await client.call("/v1/secret/data/short", token: root, ["data": ["k": "v"]])
            #expect(try await client.call("/v1/secret/data/short", .get, token: root).0 == .ok)
            time.advance(by: 1.2)
            #expect(try await client.call("/v1/secret/data/short", .get, token: root).0 == .notFound)
            try await client.call("/v1/secret/config", token: root, ["delete_version_after": "0s"])
            let (_, config) = try await client.answer(KV.Config.self, "/v1/secret/config", .get, token: root)
            #expect(config.data?.deleteVersionAfter == "0s")

            // expires_at and the rotation fields: stored, shown, honoured.
            try await client.call(
                "/v1/secret/metadata/nested", token: root,
                ["expires_at": "2000-01-01T00:00:00Z", "rotation_interval": "720h", "rotation_kind": "random"])
            #expect(try await client.call("/v1/secret/data/nested", .get, token: root).0 == .notFound)
            let fields = try #require(try await client.answer(KV.Metadata.self, "/v1/secret/metadata/nested", .get, token: root).1.data)
            #expect(fields.rotationInterval == "720h0m0s" && fields.rotationKind == "random")
            #expect(fields.nextRotationTime?.hasPrefix("20") == true)
            #expect(fields.expiresAt?.hasPrefix("2000-01-01T00:00:00") == true)
            try await client.call("/v1/secret/metadata/nested", token: root, ["expires_at": ""])
            #expect(try await client.call("/v1/secret/data/nested", .get, token: root).0 == .ok)

            // Sealed at rest: no plaintext in the table, and a version moved to another place does not open.
            let plain = try await server.database.read { conn in
                try conn.query("SELECT sealed FROM api_credential_versions WHERE sealed IS NOT NULL").map {
                    try $0.decode([UInt8].self, at: 0)
                }
            }
            #expect(
                !plain.isEmpty
                    && plain.allSatisfy {
                        !String(decoding: $0, as: UTF8.self).contains("pw-") && !String(decoding: $0, as: UTF8.self).contains("fresh")
                    })
        }
        #expect(try await server.verifyTrail().isIntact)
    }

    // The audit bound is raised to 20 s: the test is about versions, and 16 writes that each wait for two
    // commits on one SQLite writer can pass 2 s on a loaded CI machine (fail-closed 503s, by design).
    @Test(arguments: TestDatabase.backends)
    func concurrentWriters(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend, auditTimeout: "20000", concurrentWriters)
    }

    /// Writers racing on one secret (as several instances on one PostgreSQL do) each get their own version,
    /// and of racing check-and-set creates exactly one wins; none sees a server error.
    func concurrentWriters(_ server: CofferServer, _ root: String) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            let versions = try await withThrowingTaskGroup(of: (HTTPResponse.Status, Int?).self) { group in
                for n in 0..<16 {
                    group.addTask {
                        let (status, body) = try await client.answer(
                            KV.Version.self, "/v1/secret/data/race/x", token: root, ["data": ["n": n]])
                        return (status, body.data?.version)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(versions.allSatisfy { $0.0 == .ok }, "\(versions.map(\.0))")
            #expect(Set(versions.compactMap(\.1)) == Set(1...16))
            let creates = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for n in 0..<8 {
                    group.addTask {
                        try await client.call("/v1/secret/data/race/new", token: root, ["options": ["cas": 0], "data": ["n": n]]).0
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(creates.filter { $0 == .ok }.count == 1 && creates.filter { $0 == .badRequest }.count == 7, "\(creates)")
        }
    }

    @Test(arguments: TestDatabase.backends)
    func aWriteAndItsRequestEntryCommitTogether(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend, aWriteAndItsRequestEntryCommitTogether)
    }

    /// A write's request entry is inserted after its change, in the change's transaction: a database that
    /// refuses the entry once the change is made (a trigger here) leaves neither, and the client gets 503, not a
    /// change without its record. A change refused by the store (a CAS mismatch) is undone alone: its entry stays.
    func aWriteAndItsRequestEntryCommitTogether(_ server: CofferServer, _ root: String) async throws {
        let database = server.database
        @Sendable func requestEntries() async throws -> Int? {
            try await database.read { conn in
                try conn.queryScalar(Int.self, "SELECT count(*) FROM audit_log WHERE kind = 'request' AND path = 'secret/data/atomic/x'")
            }
        }
        @Sendable func currentVersion() async throws -> Int64? {
            try await database.read { conn in
                try conn.queryScalar(Int64.self, "SELECT current_version FROM api_credentials WHERE id = 'secret/atomic/x'")
            }
        }
        // Refuses the request entry of this secret's write once the secret is at version 2 or later: only an
        // entry inserted after the change, in its transaction, sees that.
        let condition = """
            NEW.kind = 'request' AND NEW.path = 'secret/data/atomic/x'
            AND (SELECT current_version FROM api_credentials WHERE id = 'secret/atomic/x') >= 2
            """
        @Sendable func refusing(_ condition: String) -> String {
            database.dialect == .postgres
                ? """
                CREATE FUNCTION refuse_recorded_write() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF \(condition) THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
                CREATE TRIGGER refuse_recorded_write BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_recorded_write();
                """
                : """
                CREATE TRIGGER refuse_recorded_write BEFORE INSERT ON audit_log WHEN \(condition)
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
                """
        }
        let install = refusing(condition)
        let remove =
            database.dialect == .postgres
            ? "DROP TRIGGER refuse_recorded_write ON audit_log; DROP FUNCTION refuse_recorded_write();"
            : "DROP TRIGGER refuse_recorded_write;"
        try await Application(router: server.makeRouter()).test(.router) { client in
            #expect(try await client.call("/v1/secret/data/atomic/x", token: root, ["data": ["v": "one"]]).0 == .ok)
            #expect(try await requestEntries() == 1)

            try await database.transaction { try $0.executeScript(unsafeSQL: install) }
            let (refused, body) = try await client.call("/v1/secret/data/atomic/x", token: root, ["data": ["v": "two"]])
            try await database.transaction { try $0.executeScript(unsafeSQL: remove) }
            #expect(refused == .serviceUnavailable, "\(body)")
            #expect(try await currentVersion() == 1, "the change was undone with its entry")
            #expect(try await requestEntries() == 1)
            let (_, read) = try await client.answer(KV.Read.self, "/v1/secret/data/atomic/x", .get, token: root)
            #expect(read.data?.data?["v"] == .string("one"))

            // A CAS mismatch: the store refuses inside the transaction; the change is undone, the entry stays.
            let (mismatch, _) = try await client.call("/v1/secret/data/atomic/x", token: root, ["options": ["cas": 7], "data": ["v": "x"]])
            #expect(mismatch == .badRequest)
            #expect(try await requestEntries() == 2)
            #expect(try await currentVersion() == 1)

            #expect(try await client.call("/v1/secret/data/atomic/x", token: root, ["data": ["v": "two"]]).0 == .ok)
            #expect(try await currentVersion() == 2)
            #expect(try await requestEntries() == 3)
            // Each write's request entry comes before its response entry, and the trail still verifies.
            let outOfOrder = try await database.read { conn in
                try conn.queryScalar(
                    Int.self,
                    """
                    SELECT count(*) FROM audit_log q JOIN audit_log r ON r.request_id = q.request_id AND r.kind = 'response'
                    WHERE q.kind = 'request' AND q.path = 'secret/data/atomic/x' AND q.sequence > r.sequence
                    """)
            }
            #expect(outOfOrder == 0)

            // A delete is recorded the same way: its entry refused once the secret is gone leaves the secret there.
            let gone = """
                NEW.kind = 'request' AND NEW.path = 'secret/metadata/atomic/x'
                AND NOT EXISTS (SELECT 1 FROM api_credentials WHERE id = 'secret/atomic/x')
                """
            try await database.transaction { try $0.executeScript(unsafeSQL: refusing(gone)) }
            let deleted = try await client.call("/v1/secret/metadata/atomic/x", .delete, token: root).0
            try await database.transaction { try $0.executeScript(unsafeSQL: remove) }
            #expect(deleted == .serviceUnavailable)
            #expect(try await currentVersion() == 2, "the delete was undone with its entry")
            #expect(try await client.call("/v1/secret/metadata/atomic/x", .delete, token: root).0 == .noContent)
            #expect(try await currentVersion() == nil)

            let (verified, report) = try await client.answer(Trail.Verification.self, "/v1/sys/audit-trail/verify", .get, token: root)
            #expect(verified == .ok && report.data?.intact == true, "\(report.data?.finding ?? "no answer")")
        }
    }

    /// As in Vault, a LIST path gets a trailing `/` before the policy check (`secret/metadata/app/*` lists `app`),
    /// and a malformed wrap TTL is refused before the operation runs.
    @Test func listPathsAndWrapTTLAreCheckedFirst() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call("/v1/secret/data/app/db", token: root, ["data": ["v": "1"]])
                try await client.call(
                    "/v1/sys/policies/acl/lister", .put, token: root,
                    ["policy": #"path "secret/metadata/app/*" { capabilities = ["list"] }"#])
                let lister = try await client.createToken(parent: root, ["policies": ["lister"]])
                for uri in ["/v1/secret/metadata/app", "/v1/secret/metadata/app/"] {
                    let (status, body) = try await client.answer(KV.Keys.self, uri, GatedRouter.list, token: lister.token)
                    #expect(status == .ok && body.data?.keys == ["db"], "\(uri)")
                }
                #expect(try await client.call("/v1/secret/metadata/app?list=true", .get, token: lister.token).0 == .ok)
                #expect(try await client.call("/v1/secret/metadata", GatedRouter.list, token: lister.token).0 == .forbidden)
                // And an exact rule without the `/` still allows the LIST (Vault's rule for list operations).
                try await client.call(
                    "/v1/sys/policies/acl/policy-lister", .put, token: root,
                    ["policy": #"path "sys/policies/acl" { capabilities = ["list"] }"#])
                let policyLister = try await client.createToken(parent: root, ["policies": ["policy-lister"]])
                #expect(try await client.call("/v1/sys/policies/acl", GatedRouter.list, token: policyLister.token).0 == .ok)
                #expect(try await client.call("/v1/sys/policies/acl/default", .get, token: policyLister.token).0 == .forbidden)

                // PATCH needs Vault's `patch` capability, and `update` alone does not give it.
                try await client.call(
                    "/v1/sys/policies/acl/patcher", .put, token: root, ["policy": #"path "secret/data/app/*" { capabilities = ["patch"] }"#]
                )
                try await client.call(
                    "/v1/sys/policies/acl/updater", .put, token: root,
                    ["policy": #"path "secret/data/app/*" { capabilities = ["update"] }"#])
                for (policy, expected) in [("patcher", HTTPResponse.Status.ok), ("updater", .forbidden)] {
                    let token = try await client.createToken(parent: root, ["policies": [policy]])
                    var headers: HTTPFields = [:]
                    headers[vaultToken] = token.token
                    headers[.contentType] = "application/merge-patch+json"
                    let status = try await client.execute(
                        uri: "/v1/secret/data/app/db", method: .patch, headers: headers,
                        body: try JSON.body(["data": ["w": "x"]])
                    ) { $0.status }
                    #expect(status == expected, "\(policy)")
                }

                for ttl in ["soon", "0"] {
                    var headers: HTTPFields = [:]
                    headers[vaultToken] = root
                    headers[HTTPField.Name("X-Vault-Wrap-TTL")!] = ttl
                    let status = try await client.execute(
                        uri: "/v1/secret/data/app/db", method: .post, headers: headers,
                        body: try JSON.body(["data": ["v": "2"]])
                    ) { $0.status }
                    #expect(status == .badRequest, "X-Vault-Wrap-TTL: \(ttl)")
                }
                let (_, metadata) = try await client.answer(KV.Metadata.self, "/v1/secret/metadata/app/db", .get, token: root)
                #expect(
                    metadata.data?.currentVersion == 2,
                    "the patch wrote version 2; the refused writes nothing")
            }
        }
    }

    /// A sealed version copied onto another secret's row fails authentication instead of reading as that secret.
    @Test func movedCiphertextDoesNotOpen() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call("/v1/secret/data/a", token: root, ["data": ["who": "a"]])
                try await client.call("/v1/secret/data/b", token: root, ["data": ["who": "b"]])
                _ = try await server.database.transaction { conn in
                    try conn.execute(
                        """
                        UPDATE api_credential_versions SET sealed = (SELECT sealed FROM api_credential_versions WHERE id = 'secret/a')
                        WHERE id = 'secret/b'
                        """)
                }
                let (status, body) = try await client.answer(KV.Read.self, "/v1/secret/data/b", .get, token: root)
                #expect(status == .internalServerError)
                #expect(body.data == nil, "the moved value must not be returned")
                #expect(body.errors?.first?.contains("failed authentication") == true)
            }
        }
    }

    /// Reads are audited with the data only as an `hmac:` hash (checkable with the audit key), and the
    /// answer forbids caching; usage counts reach the table at the next flush.
    @Test func readsAreAuditedHashedAndCounted() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call("/v1/secret/data/svc/api", token: root, ["data": ["key": "sk-live-123"]])
                for _ in 0..<3 {
                    var headers: HTTPFields = [:]
                    headers[vaultToken] = root
                    try await client.execute(uri: "/v1/secret/data/svc/api", method: .get, headers: headers) { response in
                        #expect(response.status == .ok)
                        #expect(response.headers[.cacheControl] == "no-store")
                        #expect(response.headers[.contentType] == "application/json")
                    }
                }
            }
            let fields = try await server.database.read { conn in
                try conn.query("SELECT fields FROM audit_log WHERE path = 'secret/data/svc/api' AND kind = 'response'").map {
                    try $0.decode(String.self, at: 0)
                }
            }
            #expect(fields.count == 4)
            #expect(fields.allSatisfy { !$0.contains("sk-live-123") })
            let expected = try await server.gate.auditHash(#"{"key":"sk-live-123"}"#)
            #expect(fields.filter { $0.contains(expected) }.count == 3, "each read's entry holds the data's hmac")

            #expect(try await server.credentials.usage.flush() == 1)
            let count = try await server.database.read { conn in
                try conn.queryScalar(Int.self, "SELECT access_count FROM api_credentials WHERE id = 'secret/svc/api'")
            }
            #expect(count == 3)
        }
    }

    /// A wrapped read answers a token, not the data; the token unwraps once, and not after it expires.
    @Test func wrappedReadsAreSingleUseAndExpire() async throws {
        let time = ManualTime()
        try await withUnsealedServer(time: time) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call("/v1/secret/data/svc/db", token: root, ["data": ["password": "wrapped-pw"]])
                func wrappedRead(ttl: String) async throws -> String {
                    var headers: HTTPFields = [:]
                    headers[vaultToken] = root
                    headers[HTTPField.Name("X-Vault-Wrap-TTL")!] = ttl
                    return try await client.execute(uri: "/v1/secret/data/svc/db", method: .get, headers: headers) { response in
                        #expect(response.status == .ok)
                        let text = String(buffer: response.body)
                        #expect(!text.contains("wrapped-pw"))
                        let info = try #require(try VaultAnswer<UnreadData>(body: response.body).wrapInfo)
                        #expect(info.creationPath == "secret/data/svc/db")
                        return info.token
                    }
                }
                let token = try await wrappedRead(ttl: "5m")
                let (lookup, lookupBody) = try await client.answer(WrapLookup.self, "/v1/sys/wrapping/lookup", token: nil, ["token": token])
                #expect(lookup == .ok && lookupBody.data?.creationTTL == 300)
                let (rewrapStatus, rewrapBody) = try await client.answer(
                    UnreadData.self, "/v1/sys/wrapping/rewrap", token: nil, ["token": token])
                #expect(rewrapStatus == .ok)
                let fresh = try #require(rewrapBody.wrapInfo?.token)
                #expect(
                    try await client.call("/v1/sys/wrapping/unwrap", token: root, ["token": token]).0 == .badRequest,
                    "rewrap retires the old token")
                // As Vault: a wrapping token in the body needs a client token that may unwrap; refused, it is not spent.
                #expect(try await client.call("/v1/sys/wrapping/unwrap", token: nil, ["token": fresh]).0 == .forbidden)
                let (status, body) = try await client.answer(KV.Read.self, "/v1/sys/wrapping/unwrap", token: root, ["token": fresh])
                #expect(status == .ok)
                #expect(body.data?.data?["password"]?.string == "wrapped-pw")
                let (second, secondBody) = try await client.answer(
                    UnreadData.self, "/v1/sys/wrapping/unwrap", token: root, ["token": fresh])
                #expect(second == .badRequest && secondBody.errors == ["wrapping token is not valid or does not exist"])

                let short = try await wrappedRead(ttl: "1")
                time.advance(by: 1.3)
                #expect(try await client.call("/v1/sys/wrapping/unwrap", token: root, ["token": short]).0 == .badRequest)
                #expect(try await client.call("/v1/sys/wrapping/unwrap", token: root, ["token": "cfw.not-a-token"]).0 == .badRequest)
            }
            // Both unwraps are audited, the failed one as an error.
            let unwraps = try await server.database.read { conn in
                try conn.query("SELECT status FROM audit_log WHERE path = 'sys/wrapping/unwrap' AND kind = 'response' ORDER BY sequence")
                    .map { try $0.decode(Int.self, at: 0) }
            }
            #expect(unwraps == [400, 403, 200, 400, 400, 400])
            let leftovers = try await server.database.read { conn in
                try conn.queryScalar(Int.self, "SELECT count(*) FROM wrapped_responses")
            }
            #expect(leftovers == 0)
        }
    }

    /// Bad input: a clear 4xx, nothing stored, and the refusal is in the audit trail.
    @Test func badInputIsRefusedAndNothingIsStored() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call("/v1/secret/data/keep", token: root, ["data": ["v": "1"]])
                let long = String(repeating: "a", count: 513)
                let big = String(repeating: "x", count: 600 * 1024)
                let cases: [(String, HTTPRequest.Method, [String: Any]?, HTTPResponse.Status)] = [
                    ("/v1/secret/data/app/../keep", .post, ["data": ["v": "2"]], .badRequest),
                    ("/v1/secret/data/app//keep", .post, ["data": ["v": "2"]], .badRequest),
                    ("/v1/secret/data/app/%01x", .post, ["data": ["v": "2"]], .badRequest),
                    ("/v1/secret/data/\(long)", .post, ["data": ["v": "2"]], .badRequest),
                    ("/v1/secret/data/keep", .post, ["data": "not an object"], .badRequest),
                    ("/v1/secret/data/keep", .post, ["data": ["v", "w"]], .badRequest),
                    ("/v1/secret/data/keep", .post, ["nodata": true], .badRequest),
                    ("/v1/secret/data/keep", .post, ["data": ["v": big]], .badRequest),
                    // Vault reads "1" as 1 (weak typing); a string that is no number is refused.
                    ("/v1/secret/data/keep", .post, ["options": ["cas": "one"], "data": ["v": "2"]], .badRequest),
                    ("/v1/secret/data/keep", .post, ["options": ["cas": 1.5], "data": ["v": "2"]], .badRequest),
                    ("/v1/secret/data/keep", .post, ["options": ["cas": -1], "data": ["v": "2"]], .badRequest),
                    ("/v1/secret/data/keep?version=-1", .get, nil, .badRequest),
                    ("/v1/secret/data/keep?version=abc", .get, nil, .badRequest),
                    ("/v1/secret/data/keep?version=99", .get, nil, .notFound),
                    ("/v1/secret/destroy/keep", .post, ["versions": [-3]], .badRequest),
                    ("/v1/secret/metadata/keep", .post, ["max_versions": -1], .badRequest),
                    ("/v1/secret/metadata/keep", .post, ["delete_version_after": "soon"], .badRequest),
                    ("/v1/secret/metadata/keep", .post, ["expires_at": "tomorrow"], .badRequest),
                    ("/v1/nomount/data/keep", .get, nil, .notFound),
                    ("/v1/sys/mounts/sys", .post, ["type": "kv"], .badRequest),
                    ("/v1/sys/mounts/other", .post, ["type": "database"], .badRequest),
                    ("/v1/sys/mounts/secret", .post, ["type": "kv", "options": ["version": "2"]], .badRequest),
                    ("/v1/sys/mounts/team%2Fkv", .post, ["type": "kv"], .badRequest)
                ]
                for (uri, method, body, expected) in cases {
                    let (status, answer) = try await client.answer(UnreadData.self, uri, method, token: root, body)
                    #expect(status == expected, "\(method) \(uri.prefix(80))")
                    if expected == .badRequest {
                        #expect(answer.errors?.first?.isEmpty == false, "\(uri.prefix(80)) says what was wrong")
                    }
                }
                let metadata = try await client.kvMetadata(root, "keep")
                #expect(metadata.currentVersion == 1 && metadata.maxVersions == 0, "nothing was stored")
                let count = try await server.database.read { conn in try conn.queryScalar(Int.self, "SELECT count(*) FROM api_credentials")
                }
                #expect(count == 1)
            }
            let refusals = try await server.database.read { conn in
                try conn.queryScalar(
                    Int.self, "SELECT count(*) FROM audit_log WHERE kind = 'response' AND status = 400 AND path LIKE 'secret/%'")
            }
            #expect((refusals ?? 0) >= 12, "refusals that reached the Gate are audited")
        }
    }

    /// sys/rotate then sys/rewrap moves every stored version onto the new key term; reads still work.
    @Test func rewrapMovesVersionsToTheNewTerm() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call("/v1/secret/data/one", token: root, ["data": ["v": "1"]])
                try await client.call("/v1/sys/rotate", .put, token: root)
                let (status, body) = try await client.plain(RewrapProgress.self, "/v1/sys/rewrap", .post, token: root, [:])
                #expect(status == .ok && body.rewrapped == 1, "\(body)")
                let terms = try await server.database.read { conn in
                    try conn.query("SELECT DISTINCT key_term FROM api_credential_versions").map { try $0.decode(Int.self, at: 0) }
                }
                #expect(terms == [2])
                let (read, readBody) = try await client.answer(KV.Read.self, "/v1/secret/data/one", .get, token: root)
                #expect(read == .ok && readBody.data?.data?["v"] == .string("1"))
            }
        }
    }
}

/// `sys/wrapping/lookup`.
private struct WrapLookup: Decodable {
    let creationTTL: Int

    enum CodingKeys: String, CodingKey { case creationTTL = "creation_ttl" }
}
