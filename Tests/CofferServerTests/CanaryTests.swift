import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Testing

/// A known secret written through every path that accepts one, then looked for everywhere it must not be:
/// the database file and its WAL, the witness, the service's logs (at debug level), the audit trail, error
/// bodies, and the service's process arguments and environment.
struct CanaryTests {
    static func request(
        _ port: Int, _ path: String, method: String = "POST", token: String?, headers: [String: String] = [:],
        body: Any? = nil
    ) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let token { request.setValue(token, forHTTPHeaderField: "X-Vault-Token") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// An answer's text decoded as Vault's envelope with `data` a `D`.
    static func answer<D: Decodable>(_ type: D.Type, _ text: String) throws -> VaultAnswer<D> {
        try VaultAnswer<D>(json: text)
    }

    /// `database/creds/<role>` and `database/static-creds/<role>`.
    struct Password: Decodable { let password: String }

    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL (the database engine's target)"))
    func secretsAppearNowhereTheyShouldNot() async throws {
        let url = try #require(TestDatabase.postgresURL)
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (serve, port) = try await CofferProcess.serve(
            ["--dev", "--log-level", "debug"], in: folder,
            environment: ["COFFER_DATABASE_URL": "sqlite:./data/coffer.db"])
        defer { serve.terminate() }
        let root = try String(contentsOfFile: "\(folder)/data/dev-root-token", encoding: .utf8)
        func call(_ path: String, method: String = "POST", token: String? = nil, headers: [String: String] = [:], body: Any? = nil)
            async throws
            -> (Int, String)
        {
            try await Self.request(port, path, method: method, token: token ?? root, headers: headers, body: body)
        }
        let unique = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        var canaries: [String: String] = [:]

        // KV: a value, and a refused write that carries one (its error must not echo it).
        canaries["kv"] = "CANARY-kv-\(unique)"
        #expect(try await call("/v1/secret/data/app", body: ["data": ["password": canaries["kv"]!]]).0 == 200)
        canaries["refused"] = "CANARY-refused-\(unique)"
        let (refused, refusedBody) = try await call("/v1/secret/data/app", body: ["data": canaries["refused"]!])
        #expect(refused == 400 && !refusedBody.contains(canaries["refused"]!), Comment(rawValue: refusedBody))
        let (badCAS, badCASBody) = try await call(
            "/v1/secret/data/app", body: ["options": ["cas": 99], "data": ["password": canaries["refused"]!]])
        #expect(badCAS == 400 && !badCASBody.contains(canaries["refused"]!), Comment(rawValue: badCASBody))

        // The database engine: the admin password, and a static role's rotated password.
        canaries["admin"] = "CANARY-admin-\(unique)"
        let templated = url.replacingOccurrences(of: "postgres://coffer@", with: "postgresql://{{username}}:{{password}}@")
        #expect(
            try await call(
                "/v1/database/config/pg",
                body: [
                    "plugin_name": "postgresql-database-plugin", "connection_url": templated,
                    "username": "coffer", "password": canaries["admin"]!, "allowed_roles": "*"
                ]
            ).0 == 204)
        let staticRole = "canary_\(unique.prefix(12).lowercased())"
        let admin = try PostgresTarget(url: url, user: nil, password: nil)
        try admin.execute("CREATE ROLE \(staticRole) LOGIN PASSWORD 'initial-Pw-1'")
        defer { try? admin.execute("DROP ROLE IF EXISTS \(staticRole)") }
        #expect(
            try await call("/v1/database/static-roles/canary", body: ["db_name": "pg", "username": staticRole, "rotation_period": "24h"]).0
                == 204)
        let (_, staticBody) = try await call("/v1/database/static-creds/canary", method: "GET")
        canaries["static"] = try #require(try Self.answer(Password.self, staticBody).data?.password, Comment(rawValue: staticBody))
        let (_, dynamicBody) = try await call(
            "/v1/database/roles/dyn",
            body: [
                "db_name": "pg",
                "creation_statements": [
                    #"CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"#
                ]
            ])
        _ = dynamicBody
        let (_, credsBody) = try await call("/v1/database/creds/dyn", method: "GET")
        let creds = try Self.answer(Password.self, credsBody)
        canaries["dynamic"] = try #require(creds.data?.password, Comment(rawValue: credsBody))
        let leaseID = try #require(creds.leaseID)
        #expect(try await call("/v1/sys/leases/revoke", method: "PUT", body: ["lease_id": leaseID]).0 == 204)

        // AppRole: a custom secret ID, used to log in; the token it gives.
        canaries["secret_id"] = "CANARY-secretid-\(unique)"
        #expect(try await call("/v1/auth/approle/role/ci", body: ["token_policies": ["default"]]).0 == 204)
        let roleID = try #require(
            try Self.answer(AppRole.RoleID.self, try await call("/v1/auth/approle/role/ci/role-id", method: "GET").1).data?.roleID)
        #expect(try await call("/v1/auth/approle/role/ci/custom-secret-id", body: ["secret_id": canaries["secret_id"]!]).0 == 200)
        let (_, loginBody) = try await call(
            "/v1/auth/approle/login", token: "", body: ["role_id": roleID, "secret_id": canaries["secret_id"]!])
        canaries["token"] = try #require(try Self.answer(UnreadData.self, loginBody).auth?.clientToken, Comment(rawValue: loginBody))
        let (wrongLogin, wrongBody) = try await call(
            "/v1/auth/approle/login", token: "", body: ["role_id": roleID, "secret_id": canaries["refused"]!])
        #expect(wrongLogin == 400 && !wrongBody.contains(canaries["refused"]!), Comment(rawValue: wrongBody))

        // Wrapping: a response wrapped and unwrapped; the wrapping token too.
        let (_, wrappedBody) = try await call("/v1/secret/data/app", method: "GET", headers: ["X-Vault-Wrap-TTL": "5m"])
        canaries["wrapping_token"] = try #require(
            try Self.answer(UnreadData.self, wrappedBody).wrapInfo?.token, Comment(rawValue: wrappedBody))
        let (unwrapped, unwrappedBody) = try await call("/v1/sys/wrapping/unwrap", token: canaries["wrapping_token"]!, body: [:])
        #expect(unwrapped == 200 && unwrappedBody.contains(canaries["kv"]!))

        // Rotation: a random rotator's new value.
        #expect(try await call("/v1/secret/metadata/rotated", body: ["rotation_kind": "random", "rotation_interval": "1h"]).0 == 204)
        #expect(try await call("/v1/secret/data/rotated", body: ["data": ["value": "before-rotation"]]).0 == 200)
        #expect(try await call("/v1/coffer/rotation/rotate/secret/rotated").0 == 200)
        let (_, rotatedBody) = try await call("/v1/secret/data/rotated", method: "GET")
        canaries["rotated"] = try #require(try Self.answer(KV.Read.self, rotatedBody).data?.data?["value"]?.string)
        #expect(canaries["rotated"] != "before-rotation")

        // Where none of them may be, while the service runs.
        let (_, exported) = try await call("/v1/sys/audit-trail/export", method: "GET")
        #expect(exported.contains("hmac:"), "the export holds entries")
        var places: [String: Data] = ["audit export": Data(exported.utf8)]
        places["process arguments"] = FileManager.default.contents(atPath: "/proc/\(serve.pid)/cmdline")
        places["process environment"] = FileManager.default.contents(atPath: "/proc/\(serve.pid)/environ")
        func readData(_ label: String) throws {
            for file in try FileManager.default.subpathsOfDirectory(atPath: "\(folder)/data") {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: "\(folder)/data/\(file)", isDirectory: &isDirectory), !isDirectory.boolValue {
                    places["\(label)/\(file)"] = FileManager.default.contents(atPath: "\(folder)/data/\(file)")
                }
            }
        }
        try readData("data while running") // the WAL holds the recent writes now
        // Then stopped, so the logs are complete.
        serve.send(signal: SIGTERM)
        _ = try await serve.waitForExit()
        places["service log"] = Data((serve.stdout + serve.stderrLines.joined(separator: "\n")).utf8)
        try readData("data after stop")
        #expect(
            places.keys.contains("data while running/coffer.db-wal") && places.keys.contains("data after stop/coffer.db")
                && places.keys.contains("data after stop/audit-witness.jsonl")
                    == places.keys.contains("data while running/audit-witness.jsonl"),
            "\(places.keys.sorted())")
        // The search reads real content: what is not secret is there in the clear.
        #expect(
            places["data while running/coffer.db-wal"].map { $0.range(of: Data("secret/app".utf8)) != nil } == true
                || places["data after stop/coffer.db"].map { $0.range(of: Data("secret/app".utf8)) != nil } == true)
        #expect(places["service log"]?.range(of: Data("coffer is serving".utf8)) != nil)
        #expect((places["service log"]?.count ?? 0) > 1000, "the debug log was captured")
        for (what, canary) in canaries {
            for (place, data) in places {
                #expect(data.range(of: Data(canary.utf8)) == nil, "the \(what) secret appears in \(place)")
            }
        }
    }
}
