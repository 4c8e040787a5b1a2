import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import Testing

/// The upgrade in place, from databases an older release really wrote: Fixtures/upgrade-6c68453 holds a SQLite
/// file and a PostgreSQL dump made by release 6c68453's own `coffer serve` (scripts/upgrade-fixture.py), before
/// row authentication existed. Today's binary starts on each, migrates it, tags every row at its first unseal,
/// and serves everything the older release stored; afterwards a row edited underneath it is refused.
struct UpgradeInPlaceTests {
    /// What the older release handed out while writing the fixture (fixture.json, one entry a backend).
    struct Written: Decodable {
        let key: String
        let root_token: String
        let reader_token: String
        let reader_accessor: String
        let role_id: String
        let secret_id: String
        let lease_id: String
        let wrapping_token: String
    }

    struct FixtureFile: Decodable {
        let sqlite: Written
        let postgres: Written
        let written_at_us: Int64
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/upgrade-6c68453")

    /// Every column holding an expiry the fixture set relative to the day it was written.
    static let expiryColumns = [
        ("tokens", "expires_at"), ("tokens", "max_expires_at"), ("approle_secret_ids", "expires_at"),
        ("api_credentials", "expires_at"), ("wrapped_responses", "expires_at"),
        ("leases", "expires_at"), ("leases", "max_expires_at")
    ]

    /// The tables row authentication covers (each must be fully tagged after the upgrade's unseal).
    static let authenticatedTables = [
        "tokens", "policies", "api_credentials", "kv_mounts", "approle_roles", "approle_secret_ids",
        "token_roles", "database_connections", "database_roles", "leases", "wrapped_responses"
    ]

    @Test(arguments: TestDatabase.backends)
    func olderReleaseDatabaseServesAfterUpgrade(_ backend: TestBackend) async throws {
        guard backend == .sqlite || TestDatabase.runsPostgres else { return }
        let file = try JSONDecoder().decode(FixtureFile.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("fixture.json")))
        let written = backend == .sqlite ? file.sqlite : file.postgres
        let scratch = try await TestDatabase.create(backend)
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // The older release's database, restored as it was written.
        if backend == .sqlite {
            let path = String(scratch.url.dropFirst("sqlite:".count))
            try FileManager.default.copyItem(atPath: Self.fixtures.appendingPathComponent("coffer.db").path, toPath: path)
        }
        let database = try await scratch.location.open(logger: TestDatabase.logger)
        if backend == .postgres {
            // pg_dump names every object `public.`; the scratch database is a schema on the search path, so the
            // dump is replayed unqualified and without its own search_path setting.
            let dump = try String(contentsOf: Self.fixtures.appendingPathComponent("postgres.sql"), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.contains("set_config('search_path'") }
                .joined(separator: "\n")
                .replacingOccurrences(of: "public.", with: "")
            try await database.transaction { try $0.executeScript(unsafeSQL: dump) }
        }
        // The fixture ages: a token or lease it issued with a TTL would have expired by the time the test runs.
        // Moving every expiry forward by the fixture's age is what the database would hold had it been written now.
        let age = Int64(Date().timeIntervalSince1970 * 1_000_000) - file.written_at_us
        try await database.transaction { conn in
            for (table, column) in Self.expiryColumns {
                if backend == .sqlite {
                    try conn.execute(
                        """
                        UPDATE \(unsafeRaw: table) SET \(unsafeRaw: column) = \(unsafeRaw: column) + \(age) WHERE
                        \(unsafeRaw: column) IS NOT NULL
                        """
                    )
                } else {
                    try conn.execute(
                        """
                        UPDATE \(unsafeRaw: table) SET \(unsafeRaw: column) = \(unsafeRaw: column) + make_interval(secs =>
                        \(Double(age) / 1_000_000))
                        """
                    )
                }
            }
        }
        let migrationsBefore = try await database.read { try $0.queryScalar(Int.self, "SELECT count(*) FROM schema_migrations") ?? 0 }
        await database.close()

        let keyFile = "\(folder)/unseal.key"
        #expect(FileManager.default.createFile(atPath: keyFile, contents: Data(written.key.utf8), attributes: [.posixPermissions: 0o600]))
        let environment = ["COFFER_DATABASE_URL": scratch.url]
        let arguments = [
            "serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--unseal-key-file", keyFile,
            "--audit-witness", "\(folder)/witness.jsonl"
        ]

        // First start of today's binary: migrations, the upgrade's unseal, then everything the older release stored.
        do {
            let server = try CofferProcess(arguments, in: folder, environment: environment)
            defer { server.terminate() }
            let port = try MultiInstanceTests.port(from: try await server.waitForLine(containing: "coffer is serving"))
            try await Self.waitUntilUnsealed(port)
            let call = { (path: String, method: String, token: String?, body: [String: Any]?) in
                try await MultiInstanceTests.request(port, path, method: method, token: token, body: body)
            }
            func read<D: Decodable>(_ type: D.Type, _ path: String, _ method: String = "GET", token: String?, body: [String: Any]? = nil)
                async throws -> (Int, VaultAnswer<D>)
            {
                try await MultiInstanceTests.answer(type, port, path, method: method, token: token, body: body)
            }
            let root = written.root_token

            // KV: the current version, an older one, metadata, a deleted version, rotation settings, a second mount.
            let (current, currentBody) = try await read(KV.Read.self, "/v1/secret/data/app/db", token: written.reader_token)
            #expect(current == 200 && currentBody.data?.data?["password"]?.string == "db-password-v3", "\(currentBody)")
            let (_, firstBody) = try await read(KV.Read.self, "/v1/secret/data/app/db?version=1", token: root)
            #expect(firstBody.data?.data?["password"]?.string == "db-password-v1", "\(firstBody)")
            let metadata = try #require(try await read(KV.Metadata.self, "/v1/secret/metadata/app/db", token: root).1.data)
            #expect(metadata.currentVersion == 3 && metadata.maxVersions == 5)
            #expect(metadata.customMetadata == ["owner": "payments"])
            let (_, oldBody) = try await read(KV.Read.self, "/v1/secret/data/app/old", token: root)
            #expect(oldBody.data?.data?["value"]?.string == "old-v2", "\(oldBody)")
            let (deleted, deletedBody) = try await read(KV.Read.self, "/v1/secret/data/app/old?version=1", token: root)
            #expect(deleted == 404 && deletedBody.data?.metadata.deletionTime.isEmpty == false, "version 1 stays deleted: \(deletedBody)")
            let rotation = try #require(try await read(KV.Metadata.self, "/v1/secret/metadata/app/rotated", token: root).1.data)
            #expect(rotation.rotationKind == "random" && rotation.rotationInterval == "24h0m0s", "\(rotation)")
            let (_, rotatedValue) = try await read(KV.Read.self, "/v1/secret/data/app/rotated", token: root)
            #expect(rotatedValue.data?.data?["value"]?.string == "rotated-v1", "\(rotatedValue)")
            let (_, teamBody) = try await read(KV.Read.self, "/v1/team/data/shared", token: root)
            #expect(teamBody.data?.data?["note"]?.string == "team-note", "\(teamBody)")

            // Tokens: the reader's policy still confines it, and its uses are still counted.
            #expect(try await call("/v1/secret/data/team", "GET", written.reader_token, nil).0 == 403)
            let lookup = try #require(
                try await read(Sys.TokenLookup.self, "/v1/auth/token/lookup-self", token: written.reader_token).1.data)
            #expect(lookup.accessor == written.reader_accessor)
            #expect(lookup.policies.contains("app-read"))
            #expect((1..<5).contains(lookup.numUses), "the uses spent since the upgrade are counted: \(lookup)")
            let (_, policyBody) = try await read(Sys.Policy.self, "/v1/sys/policies/acl/app-read", token: root)
            #expect(policyBody.data?.policy.contains("secret/data/app/*") == true, "\(policyBody)")
            let (_, roleBody) = try await read(TokenRole.self, "/v1/auth/token/roles/ci", token: root)
            #expect(roleBody.data?.allowedPolicies == ["app-read"], "\(roleBody)")

            // AppRole: a login with the secret ID the older release issued.
            let (login, loginBody) = try await read(
                UnreadData.self, "/v1/auth/approle/login", "POST", token: nil,
                body: ["role_id": written.role_id, "secret_id": written.secret_id])
            let approleToken = try #require(loginBody.auth?.clientToken, "\(login) \(loginBody)")
            #expect(try await call("/v1/secret/data/app/db", "GET", approleToken, nil).0 == 200)

            // The database engine: its connection (no password shown), role and lease.
            let (_, configBody) = try await call("/v1/database/config/pg", "GET", root, nil)
            #expect("\(configBody)".contains("{{username}}") && !"\(configBody)".contains("fixture-admin-password"), "\(configBody)")
            let (_, dynBody) = try await read(DatabaseRole.self, "/v1/database/roles/dyn", token: root)
            #expect(dynBody.data?.dbName == "pg", "\(dynBody)")
            let (leaseStatus, leaseBody) = try await read(
                LeaseLookup.self, "/v1/sys/leases/lookup", "PUT", token: root, body: ["lease_id": written.lease_id])
            #expect(leaseStatus == 200 && leaseBody.data?.id == written.lease_id, "\(leaseBody)")

            // The wrapped response: unwrapped once, to the value it held.
            let (unwrap, unwrapBody) = try await read(KV.Read.self, "/v1/sys/wrapping/unwrap", "PUT", token: written.wrapping_token)
            #expect(unwrap == 200 && unwrapBody.data?.data?["password"]?.string == "db-password-v3", "\(unwrapBody)")
            #expect(try await call("/v1/sys/wrapping/unwrap", "PUT", written.wrapping_token, nil).0 == 400)

            // The audit trail: the older release's entries and today's, one chain.
            let (_, verifyBody) = try await read(Trail.Verification.self, "/v1/sys/audit-trail/verify", token: root)
            #expect(verifyBody.data?.intact == true, "\(verifyBody)")
            #expect(try await Self.integrityOK(port), "every upgraded row authenticates")

            server.terminate()
            #expect(try await server.waitForExit() == 0)
        }

        // Every migration since ran, and every row is tagged. Then a writer widens the reader underneath the service.
        let reopened = try await scratch.location.open(logger: TestDatabase.logger)
        let (migrationsAfter, untagged) = try await reopened.read { conn in
            (
                try conn.queryScalar(Int.self, "SELECT count(*) FROM schema_migrations") ?? 0,
                try Self.authenticatedTables.reduce(0) {
                    $0 + (try conn.queryScalar(Int.self, "SELECT count(*) FROM \(unsafeRaw: $1) WHERE auth_tag IS NULL") ?? 0)
                }
            )
        }
        let known = try MigrationSet.embedded(for: reopened.dialect).migrations.count
        #expect(migrationsBefore == 18 && migrationsAfter == known, "\(migrationsBefore) → \(migrationsAfter) of \(known)")
        #expect(untagged == 0, "every row the older release wrote is tagged")
        try await reopened.execute(
            "UPDATE tokens SET policies = '[\"root\"]', auth_tag = NULL, auth_term = NULL WHERE accessor = \(written.reader_accessor)")
        await reopened.close()

        // A restart is not a second upgrade: the untagged row is refused, not adopted.
        let server = try CofferProcess(arguments, in: folder, environment: environment)
        defer { server.terminate() }
        let port = try MultiInstanceTests.port(from: try await server.waitForLine(containing: "coffer is serving"))
        try await Self.waitUntilUnsealed(port)
        let (refused, refusedBody) = try await MultiInstanceTests.request(port, "/v1/secret/data/team", token: written.reader_token)
        #expect(refused == 500 && !"\(refusedBody)".contains("team-note"), "\(refused) \(refusedBody)")
        #expect(try await MultiInstanceTests.request(port, "/v1/secret/data/app/db", token: written.root_token).0 == 200)
        #expect(try await Self.integrityOK(port) == false, "the refused row is reported")
        server.terminate()
        _ = try await server.waitForExit()
        try await scratch.drop()
    }

    /// `sys/health`'s `integrity.ok` from a running process.
    static func integrityOK(_ port: Int) async throws -> Bool {
        let (_, data) = try await MultiInstanceTests.raw(port, "/v1/sys/health", method: "GET", token: nil, body: nil)
        return try JSONDecoder().decode(Integrity.Health.self, from: data).integrity.ok
    }

    /// Waits until the key file has unsealed the service (the listener opens first).
    static func waitUntilUnsealed(_ port: Int) async throws {
        let unsealed = try await eventually(within: .seconds(60)) {
            let (_, status) = try await MultiInstanceTests.raw(port, "/v1/sys/seal-status", method: "GET", token: nil, body: nil)
            return (try? JSONDecoder().decode(Sys.SealStatus.self, from: status))?.sealed == false
        }
        guard unsealed else { throw TestSetupError("the service did not unseal with the fixture's key file") }
    }
}

/// `auth/token/roles/<name>`.
private struct TokenRole: Decodable {
    let allowedPolicies: [String]

    enum CodingKeys: String, CodingKey { case allowedPolicies = "allowed_policies" }
}

/// `database/roles/<name>`.
private struct DatabaseRole: Decodable {
    let dbName: String

    enum CodingKeys: String, CodingKey { case dbName = "db_name" }
}

/// `sys/leases/lookup`.
private struct LeaseLookup: Decodable { let id: String }
