@testable import CofferAccess
import CofferCrypto
import CofferEngines
import CofferKeys
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Someone with write access to the database, on both backends: every change they make to a row that carries
/// authority or ordering is refused (never used), reported by `sys/health` and recorded as an audit `event`.
struct DatabaseWriterTests {
    /// A refusal of a tampered row: a 500 that names the row, never a 200, and never the value.
    private func expectRefused(_ status: HTTPResponse.Status, _ body: [String: Any], _ row: String, _ what: Comment) {
        #expect(
            status == .internalServerError && "\(body)".contains("the stored row \(row) failed authentication"),
            "\(what): \(status) \(body)")
    }

    private func integrity(_ client: some TestClientProtocol) async throws -> Integrity {
        try await client.execute(uri: "/v1/sys/health", method: .get) {
            try JSONDecoder().decode(Integrity.Health.self, from: Data($0.body.readableBytesView)).integrity
        }
    }

    @Test(arguments: TestDatabase.backends)
    func rowsEditedUnderneathAreRefused(_ backend: TestBackend) async throws {
        guard backend == .sqlite || TestDatabase.runsPostgres else { return }
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await integrity(client).ok)
                #expect(try await client.call("/v1/secret/data/payroll", token: root, ["data": ["password": "v1-pass"]]).0 == .ok)
                #expect(try await client.call("/v1/secret/data/payroll", token: root, ["data": ["password": "v2-pass"]]).0 == .ok)
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/reader", .put, token: root,
                        ["policy": #"path "secret/data/public/*" { capabilities = ["read"] }"#]
                    ).0 == .noContent)
                let plain = try await client.createToken(parent: root, ["policies": ["default"]])
                let reader = try await client.createToken(parent: root, ["policies": ["reader"]])
                let limited = try await client.createToken(parent: root, ["policies": ["default"], "num_uses": 2])
                #expect(try await client.call("/v1/secret/data/payroll", .get, token: plain.token).0 == .forbidden)

                // 1. A token's policies widened to root: refused, not obeyed.
                try await server.database.execute("UPDATE tokens SET policies = '[\"root\"]' WHERE accessor = \(plain.accessor)")
                let (widened, widenedBody) = try await client.call("/v1/secret/data/payroll", .get, token: plain.token)
                expectRefused(widened, widenedBody, "tokens/\(plain.accessor)", "widened policies")
                #expect(!"\(widenedBody)".contains("v2-pass"))

                // 2. Uses raised: refused.
                try await server.database.execute("UPDATE tokens SET num_uses = 1000 WHERE accessor = \(limited.accessor)")
                let (raised, raisedBody) = try await client.call("/v1/auth/token/lookup-self", .get, token: limited.token)
                expectRefused(raised, raisedBody, "tokens/\(limited.accessor)", "raised num_uses")

                // 3. A policy's text widened: every request that needs it is refused (dropping it could drop a deny).
                try await server.database.execute(
                    """
                    UPDATE policies SET text = 'path "secret/*" { capabilities = ["read", "list"] }' WHERE name = 'reader'
                    """)
                let (policy, policyBody) = try await client.call("/v1/secret/data/payroll", .get, token: reader.token)
                expectRefused(policy, policyBody, "policies/reader", "widened policy")

                // 4. current_version moved back: refused, not the old value.
                try await server.database.execute("UPDATE api_credentials SET current_version = 1 WHERE id = 'secret/payroll'")
                let (rolled, rolledBody) = try await client.call("/v1/secret/data/payroll", .get, token: root)
                expectRefused(rolled, rolledBody, "api_credentials/secret/payroll", "current_version rolled back")
                #expect(!"\(rolledBody)".contains("v1-pass"))

                // 5. A mount's cas_required cleared: the engine is refused.
                #expect(
                    try await client.call("/v1/sys/mounts/strict", token: root, ["type": "kv", "options": ["version": "2"]]).0 == .noContent
                )
                #expect(try await client.call("/v1/strict/config", token: root, ["cas_required": true]).0 == .noContent)
                try await server.database.execute("UPDATE kv_mounts SET cas_required = \(false) WHERE path = 'strict'")
                let (mount, mountBody) = try await client.call("/v1/strict/data/x", token: root, ["data": ["k": "v"]])
                expectRefused(mount, mountBody, "kv_mounts/strict", "cas_required cleared")

                // 6. A tag removed is no way around it.
                try await server.database.execute("UPDATE tokens SET auth_tag = NULL, auth_term = NULL WHERE accessor = \(reader.accessor)")
                let (untagged, untaggedBody) = try await client.call("/v1/auth/token/lookup-self", .get, token: reader.token)
                expectRefused(untagged, untaggedBody, "tokens/\(reader.accessor)", "tag removed")

                // Reported by health, and each refusal is an audit event naming the row.
                let report = try await integrity(client)
                #expect(!report.ok && report.refusedRows >= 6, "\(report)")
                let events = try await server.database.read { conn in
                    try conn.query("SELECT fields FROM audit_log WHERE kind = 'event' AND operation = 'integrity'").map {
                        try $0.decode(String.self, at: 0)
                    }
                }
                for row in ["tokens/\(plain.accessor)", "policies/reader", "api_credentials/secret/payroll", "kv_mounts/strict"] {
                    #expect(events.contains { $0.contains(row) }, "an integrity event names \(row): \(events)")
                }
                // Nothing else was touched: root still works on other secrets.
                #expect(try await client.call("/v1/secret/data/other", token: root, ["data": ["k": "v"]]).0 == .ok)
            }
        }
    }

    /// AppRole roles and secret IDs, token roles and wrapping entries: each edit is refused, never obeyed.
    @Test(arguments: TestDatabase.backends)
    func authMethodRowsEditedUnderneathAreRefused(_ backend: TestBackend) async throws {
        guard backend == .sqlite || TestDatabase.runsPostgres else { return }
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/secret/data/payroll", token: root, ["data": ["password": "approle-leak"]]).0 == .ok)
                func role(_ name: String) async throws -> String {
                    #expect(
                        try await client.call("/v1/auth/approle/role/\(name)", token: root, ["token_policies": ["default"]]).0 == .noContent
                    )
                    let (_, body) = try await client.answer(AppRole.RoleID.self, "/v1/auth/approle/role/\(name)/role-id", .get, token: root)
                    return try #require(body.data?.roleID, "\(body)")
                }
                func secretID(_ name: String, _ parameters: [String: Any] = [:]) async throws -> String {
                    let (_, body) = try await client.answer(
                        AppRole.SecretID.self, "/v1/auth/approle/role/\(name)/secret-id", token: root, parameters)
                    return try #require(body.data?.secretID, "\(body)")
                }
                let roleID = try await role("ci")
                let first = try await secretID("ci")
                #expect(try await client.call("/v1/auth/approle/login", token: nil, ["role_id": roleID, "secret_id": first]).0 == .ok)

                // A role's policies widened to root: the login is refused, no token is issued; reading the role too.
                try await server.database.execute("UPDATE approle_roles SET policies = '[\"root\"]' WHERE name = 'ci'")
                let (login, loginBody) = try await client.call(
                    "/v1/auth/approle/login", token: nil, ["role_id": roleID, "secret_id": first])
                expectRefused(login, loginBody, "approle_roles/approle/ci", "widened role")
                #expect(loginBody["auth"] == nil)
                let (read, readBody) = try await client.call("/v1/auth/approle/role/ci", .get, token: root)
                expectRefused(read, readBody, "approle_roles/approle/ci", "reading a widened role")

                // A secret ID given more uses: refused.
                let otherRole = try await role("ops")
                let twice = try await secretID("ops", ["num_uses": 2])
                try await server.database.execute("UPDATE approle_secret_ids SET num_uses = 500 WHERE num_uses = 2")
                let (uses, usesBody) = try await client.call(
                    "/v1/auth/approle/login", token: nil, ["role_id": otherRole, "secret_id": twice])
                #expect(uses == .internalServerError && "\(usesBody)".contains("approle_secret_ids/"), "\(usesBody)")

                // A token role's allowed policies widened: no token is made from it.
                #expect(
                    try await client.call("/v1/auth/token/roles/deploy", token: root, ["allowed_policies": ["default"]]).0 == .noContent)
                try await server.database.execute(
                    "UPDATE token_roles SET allowed_policies = '[\"root\"]', orphan = \(true) WHERE name = 'deploy'")
                let (role, roleBody) = try await client.call("/v1/auth/token/create/deploy", token: root, ["policies": ["root"]])
                expectRefused(role, roleBody, "token_roles/deploy", "widened token role")

                // A wrapping entry's expiry or creation path changed: neither lookup nor unwrap trusts it.
                let wrapped = try await client.execute(
                    uri: "/v1/secret/data/payroll", method: .get,
                    headers: [vaultToken: root, HTTPField.Name("X-Vault-Wrap-TTL")!: "60s"]
                ) { response in
                    try #require(try VaultAnswer<UnreadData>(body: response.body).wrapInfo?.token)
                }
                try await server.database.execute("UPDATE wrapped_responses SET creation_path = 'secret/data/public/harmless'")
                let (lookup, lookupBody) = try await client.call("/v1/sys/wrapping/lookup", token: root, ["token": wrapped])
                #expect(lookup == .internalServerError && "\(lookupBody)".contains("wrapped_responses/"), "\(lookupBody)")
                let (unwrap, unwrapBody) = try await client.call("/v1/sys/wrapping/unwrap", token: wrapped, [:])
                #expect(unwrap == .internalServerError && !"\(unwrapBody)".contains("approle-leak"), "\(unwrapBody)")
            }
        }
    }

    /// The database engine on the real PostgreSQL: a connection URL changed in the database never receives the
    /// admin password, a role's statements changed are never run, a lease's username changed is never dropped.
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func databaseEngineRowsEditedUnderneathAreRefused() async throws {
        let url = try #require(TestDatabase.postgresURL)
        let templated = url.replacingOccurrences(of: "postgres://coffer@", with: "postgresql://{{username}}:{{password}}@")
        try await withUnsealedServer(.sqlite) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(
                    try await client.call(
                        "/v1/database/config/pg", token: root,
                        [
                            "plugin_name": "postgresql-database-plugin", "connection_url": templated, "username": "coffer",
                            "password": "admin-canary-pw",
                            "allowed_roles": "*"
                        ]
                    ).0 == .noContent)
                let create = #"CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"#
                #expect(
                    try await client.call("/v1/database/roles/app", token: root, ["db_name": "pg", "creation_statements": [create]]).0
                        == .noContent)
                #expect(
                    try await client.call("/v1/database/roles/other", token: root, ["db_name": "pg", "creation_statements": [create]]).0
                        == .noContent)
                let (issuedStatus, issued) = try await client.answer(UnreadData.self, "/v1/database/creds/app", .get, token: root)
                #expect(issuedStatus == .ok, "\(issued)")
                let leaseID = try #require(issued.leaseID)

                // The lease's username pointed at another role: revocation refuses rather than drop it.
                try await server.database.execute("UPDATE leases SET username = 'coffer' WHERE lease_id = \(leaseID)")
                let (revoke, revokeBody) = try await client.call("/v1/sys/leases/revoke", .put, token: root, ["lease_id": leaseID])
                expectRefused(revoke, revokeBody, "leases/\(leaseID)", "lease username changed")

                // The role's statements replaced with a grant of superuser: never run.
                try await server.database.execute(
                    """
                    UPDATE database_roles SET creation_statements = '["CREATE ROLE \\"{{name}}\\" SUPERUSER LOGIN"]' WHERE name = 'app'
                    """)
                let (role, roleBody) = try await client.call("/v1/database/creds/app", .get, token: root)
                expectRefused(role, roleBody, "database_roles/app", "statements replaced")

                // The connection URL pointed elsewhere: refused before the password is opened.
                try await server.database.execute(
                    "UPDATE database_connections SET connection_url = 'postgresql://{{username}}:{{password}}@198.51.100.7/x'")
                let (other, otherBody) = try await client.call("/v1/database/creds/other", .get, token: root)
                expectRefused(other, otherBody, "database_connections/pg", "connection URL changed")
                #expect(!"\(otherBody)".contains("admin-canary-pw"))
                let (read, readBody) = try await client.call("/v1/database/config/pg", .get, token: root)
                expectRefused(read, readBody, "database_connections/pg", "connection URL changed")
            }
        }
    }

    /// The audit trail rewritten underneath: an entry changed with the whole (unkeyed) chain recomputed after it
    /// and the checkpoints that covered it deleted; a checkpoint removed from the middle; an entry removed; the
    /// tail cut off. `coffer audit verify` (the service's) names the first bad entry each time.
    @Test(arguments: TestDatabase.backends)
    func auditTrailRewrittenUnderneathIsFound(_ backend: TestBackend) async throws {
        guard backend == .sqlite || TestDatabase.runsPostgres else { return }
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                func verify() async throws -> Trail.Verification {
                    let (status, body) = try await client.answer(Trail.Verification.self, "/v1/sys/audit-trail/verify", .get, token: root)
                    #expect(status == .ok, "\(body)")
                    return try #require(body.data)
                }
                for index in 0..<10 {
                    #expect(try await client.call("/v1/secret/data/k\(index)", token: root, ["data": ["v": "\(index)"]]).0 == .ok)
                }
                let clean = try await verify()
                #expect(clean.intact && clean.tags > 20 && clean.checkpoints > 0 && clean.witnessRecords >= 0, "\(clean)")

                // 1. Entry 5 rewritten, every hash after it recomputed, the checkpoints from it on deleted, the head moved.
                var collected: [AuditTrail.Stored] = []
                try await AuditTrail(database: server.database).forEach { collected.append($0) }
                let stored = collected
                try await server.database.transaction { conn in
                    var previous = stored[3].record.hash
                    for index in 4..<stored.count {
                        var record = stored[index].record
                        if index == 4 { record.fields = record.fields.map { $0.0 == "decision" ? ($0.0, "deny") : $0 } }
                        record.hash = try AuditChain.hash(record, previous: previous)
                        previous = record.hash
                        try conn.execute(
                            """
                            UPDATE audit_log SET fields = \(AuditEntry.encode(record.fields)), hash = \(record.hash),
                                                 decision = \(index == 4 ? "deny" : stored[index].entry.decision)
                            WHERE sequence = \(record.sequence)
                            """)
                    }
                    try conn.execute("UPDATE audit_head SET hash = \(previous) WHERE id = 1")
                    try conn.execute("DELETE FROM audit_checkpoints WHERE sequence >= 5")
                }
                let rewritten = try await verify()
                #expect(!rewritten.intact && rewritten.firstBadSequence == 5, "\(rewritten)")
            }
        }
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                func verify() async throws -> Trail.Verification {
                    try #require(try await client.answer(Trail.Verification.self, "/v1/sys/audit-trail/verify", .get, token: root).1.data)
                }
                for index in 0..<10 {
                    #expect(try await client.call("/v1/secret/data/k\(index)", token: root, ["data": ["v": "\(index)"]]).0 == .ok)
                }
                #expect(try await verify().intact)
                // 2. A checkpoint removed from the middle: the next one names it.
                let middle = try await server.database.read { conn in
                    try #require(
                        try conn.queryScalar(Int64.self, "SELECT sequence FROM audit_checkpoints ORDER BY sequence LIMIT 1 OFFSET 3"))
                }
                try await server.database.execute("DELETE FROM audit_checkpoints WHERE sequence = \(middle)")
                let missing = try await verify()
                #expect(!missing.intact && missing.finding.contains("a checkpoint was removed"), "\(missing)")

                // 3. An entry removed: a gap in the numbering.
                try await server.database.execute("DELETE FROM audit_log WHERE sequence = 3")
                let gap = try await verify()
                #expect(!gap.intact && gap.firstBadSequence == 3, "\(gap)")
            }
        }
    }

    /// The tail cut off (entries and their checkpoints deleted, the head rewound): found against the witness
    /// file, which is the default.
    @Test func truncatedTailIsFoundAgainstTheDefaultWitness() async throws {
        try await withUnsealedServer(.sqlite) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let witness = try #require(server.configuration.auditWitnessFile)
                // Enough entries that the witness got a checkpoint (every 1000 entries, or at the interval).
                for index in 0..<520 {
                    #expect(try await client.call("/v1/secret/data/k\(index % 7)", token: root, ["data": ["v": "\(index)"]]).0 == .ok)
                }
                let witnessed = try #require(
                    try AuditWitnessFile.newest(in: witness), "the default witness file \(witness) holds a checkpoint")
                let (_, clean) = try await client.answer(Trail.Verification.self, "/v1/sys/audit-trail/verify", .get, token: root)
                #expect(clean.data?.intact == true, "\(clean)")
                let cut = witnessed.sequence - 10
                try await server.database.transaction { conn in
                    let head = try #require(try conn.queryScalar([UInt8].self, "SELECT hash FROM audit_log WHERE sequence = \(cut)"))
                    try conn.execute("DELETE FROM audit_log WHERE sequence > \(cut)")
                    try conn.execute("DELETE FROM audit_checkpoints WHERE sequence > \(cut)")
                    try conn.execute("UPDATE audit_head SET sequence = \(cut), hash = \(head) WHERE id = 1")
                }
                let truncated = try #require(
                    try await client.answer(Trail.Verification.self, "/v1/sys/audit-trail/verify", .get, token: root).1.data)
                #expect(
                    !truncated.intact && truncated.finding.contains("truncated")
                        && truncated.firstBadSequence.map { $0 <= Int(witnessed.sequence) } == true, "\(truncated)")
            }
        }
    }

    /// Version numbers are never reused, and a version of a deleted secret does not open under its successor.
    @Test(arguments: TestDatabase.backends)
    func oldVersionRowsCannotBeReplayed(_ backend: TestBackend) async throws {
        guard backend == .sqlite || TestDatabase.runsPostgres else { return }
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/secret/data/app", token: root, ["data": ["password": "first-life"]]).0 == .ok)
                let saved = try await server.database.read { conn in
                    try #require(
                        try conn.queryFirst(
                            "SELECT key_term, sealed, binding_id FROM api_credential_versions WHERE id = 'secret/app' AND version = 1"))
                }
                let (term, sealed, binding) = (
                    try saved.decode(Int64.self, at: 0), try saved.decode([UInt8].self, at: 1), try saved.decode(String?.self, at: 2)
                )
                // Deleted and written again: the new secret's version 1 is bound to a new random id.
                #expect(try await client.call("/v1/secret/metadata/app", .delete, token: root).0 == .noContent)
                #expect(try await client.call("/v1/secret/data/app", token: root, ["data": ["password": "second-life"]]).0 == .ok)
                try await server.database.execute(
                    """
                    UPDATE api_credential_versions SET key_term = \(term), sealed = \(sealed), binding_id = \(binding) WHERE id =
                    'secret/app' AND version = 1
                    """)
                let (status, body) = try await client.call("/v1/secret/data/app", .get, token: root)
                #expect(status == .internalServerError && !"\(body)".contains("first-life"), "\(status) \(body)")

                // Numbers only grow: deleting versions never lets a number be given again.
                #expect(try await client.call("/v1/secret/data/counter", token: root, ["data": ["n": "1"]]).0 == .ok)
                #expect(try await client.call("/v1/secret/data/counter", token: root, ["data": ["n": "2"]]).0 == .ok)
                #expect(try await client.call("/v1/secret/destroy/counter", .put, token: root, ["versions": [2]]).0 == .noContent)
                let (_, third) = try await client.answer(KV.Version.self, "/v1/secret/data/counter", token: root, ["data": ["n": "3"]])
                #expect(third.data?.version == 3, "\(third)")
            }
        }
    }

    /// The upgrade in place: rows an older release wrote (no tags, the old key check) are tagged at the first
    /// unseal, nothing is lost, and from then on an untagged row is refused.
    @Test(arguments: TestDatabase.backends)
    func upgradeTagsExistingRowsOnce(_ backend: TestBackend) async throws {
        guard backend == .sqlite || TestDatabase.runsPostgres else { return }
        try await withServer(backend) { server in
            let initialised = try await server.keys.initialize(method: .keyFile)
            let rootKey = try #require(initialised.keyFileKey)
            _ = try await server.keys.unseal(with: rootKey.bytes)
            let root = initialised.rootToken
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/secret/data/kept", token: root, ["data": ["password": "kept-value"]]).0 == .ok)
                let user = try await client.createToken(parent: root, ["policies": ["default"]])
                // The database as the release before row authentication left it.
                #expect(try await client.call("/v1/auth/approle/role/ci", token: root, ["token_policies": ["default"]]).0 == .noContent)
                #expect(
                    try await client.call("/v1/auth/token/roles/deploy", token: root, ["allowed_policies": ["default"]]).0 == .noContent)
                let tables = [
                    "tokens", "policies", "api_credentials", "kv_mounts", "approle_roles", "approle_secret_ids", "token_roles",
                    "database_connections", "database_roles", "leases", "wrapped_responses"
                ]
                let legacyCheck = try BLAKE2b.hash(Array("coffer root key check v1".utf8), key: rootKey.bytes)
                try await server.database.transaction { conn in
                    for table in tables { try conn.execute("UPDATE \(unsafeRaw: table) SET auth_term = NULL, auth_tag = NULL") }
                    try conn.execute("UPDATE seal_config SET key_check = \(legacyCheck)")
                }
                let (before, _) = try await client.call("/v1/secret/data/kept", .get, token: root)
                #expect(before == .internalServerError, "untagged rows are refused until the upgrade's unseal")

                // The upgraded binary's first unseal (a fresh hierarchy, as after a restart).
                let upgraded = try await KeyHierarchy(database: server.database)
                _ = Gate(database: server.database, keys: upgraded, logger: Logger(label: "test"))
                _ = CredentialStore(database: server.database, keys: upgraded)
                _ = try await upgraded.unseal(with: rootKey.bytes)
                let untagged = try await server.database.read { conn in
                    try tables.reduce(0) {
                        $0 + (try conn.queryScalar(Int.self, "SELECT count(*) FROM \(unsafeRaw: $1) WHERE auth_tag IS NULL") ?? 0)
                    }
                }
                #expect(untagged == 0)
                let (after, afterBody) = try await client.call("/v1/secret/data/kept", .get, token: root)
                #expect(after == .ok && "\(afterBody)".contains("kept-value"), "\(afterBody)")
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: user.token).0 == .ok)
                #expect(try await client.call("/v1/auth/approle/role/ci", .get, token: root).0 == .ok)
                #expect(try await client.call("/v1/auth/token/roles/deploy", .get, token: root).0 == .ok)

                // Once upgraded, a tag removed later is not adopted by another unseal.
                try await server.database.execute("UPDATE tokens SET auth_tag = NULL, auth_term = NULL WHERE accessor = \(user.accessor)")
                let again = try await KeyHierarchy(database: server.database)
                _ = Gate(database: server.database, keys: again, logger: Logger(label: "test"))
                _ = try await again.unseal(with: rootKey.bytes)
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: user.token).0 == .internalServerError)
            }
        }
    }

    /// Tags move with the keyring: after a rotation and a rewrap that retires the old term, every row still
    /// authenticates (a tag left on a retired term would be refused).
    @Test func tagsFollowTheKeyringThroughRewrapAndRetire() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/secret/data/app", token: root, ["data": ["k": "v"]]).0 == .ok)
                let user = try await client.createToken(parent: root, ["policies": ["default"]])
                #expect(try await client.call("/v1/sys/rotate", .put, token: root).0 == .noContent)
                let (status, body) = try await client.plain(
                    RewrapProgress.self, "/v1/sys/rewrap", .put, token: root, ["batch_size": 1000, "retire": true])
                #expect(status == .ok && body.remaining == 0 && body.retagged > 0 && body.retiredTerms == [1], "\(body)")
                let oldTerm = try await server.database.read { conn in
                    try conn.queryScalar(Int.self, "SELECT count(*) FROM tokens WHERE auth_term = 1") ?? -1
                }
                #expect(oldTerm == 0)
                #expect(try await client.call("/v1/secret/data/app", .get, token: root).0 == .ok)
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: user.token).0 == .ok)
            }
        }
    }
}
