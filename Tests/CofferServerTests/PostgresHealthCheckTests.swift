import CofferAccess
import CofferHTTP
import CofferHealth
@testable import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// A postgres health check cannot make Coffer act with more authority than its writer has: it logs in only
/// with a secret its writer may read (under secret/health-checks/), runs one statement read-only under a
/// timeout, never reaches Coffer's own database, never borrows the service's ambient credentials, and its
/// errors carry no server text. Against the real test server, through the runner's own code.
@Suite(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to check postgres health checks against PostgreSQL"))
struct PostgresHealthCheckTests {
    /// The test cluster as its superuser (trust), for setting up and for looking at what a check did.
    static func admin() throws -> (url: String, host: String, port: Int) {
        let url = try #require(TestDatabase.postgresURL, "CI=true but COFFER_TEST_POSTGRES_URL is not set")
        let parts = try #require(URLComponents(string: url))
        return (url, parts.host ?? "127.0.0.1", parts.port ?? 5432)
    }

    @Test(arguments: TestDatabase.backends)
    func checksRunOnlyWithTheirOwnCredentialsAndReadOnly(backend: TestBackend) async throws {
        let (adminURL, host, port) = try Self.admin()
        let suffix = String(UUID().uuidString.prefix(8)).lowercased()
        let role = "hc_\(suffix)", database = "hc_\(suffix)", password = "hc-Pw-\(suffix)-\(UUID().uuidString.prefix(6))"
        let setup = try PostgresTarget(url: adminURL, user: nil, password: nil)
        try setup.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        try setup.execute("CREATE DATABASE \(database) OWNER \(role)")
        defer {
            try? setup.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            try? setup.execute("DROP ROLE IF EXISTS \(role)")
        }
        let target = "postgres://\(host):\(port)/\(database)"

        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call("/v1/secret/data/health-checks/pg", token: root, ["data": ["username": role, "password": password]])
                try await client.call(
                    "/v1/secret/data/health-checks/wrong", token: root, ["data": ["username": role, "password": "not-the-password"]])
                try await client.call(
                    "/v1/secret/data/health-checks/trusted", token: root, ["data": ["username": "coffer", "password": "unused"]])
                try await client.call("/v1/secret/data/elsewhere/pg", token: root, ["data": ["username": role, "password": password]])
                let writerPolicy = try String(contentsOfFile: SuiteTokens.policies + "/health-writer.hcl", encoding: .utf8)
                #expect(
                    try await client.call("/v1/sys/policies/acl/health-writer", .put, token: root, ["policy": writerPolicy]).0 == .noContent
                )
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/secret-reader", .put, token: root,
                        ["policy": "path \"secret/data/*\" { capabilities = [\"read\"] }"]
                    ).0 == .noContent)
                let plainWriter = try await client.createToken(parent: root, ["policies": ["health-writer"], "no_default_policy": true])
                    .token
                let writer = try await client.createToken(
                    parent: root, ["policies": ["health-writer", "secret-reader"], "no_default_policy": true]
                ).token

                func apply(_ checks: [[String: Any]], token: String) async throws -> (HTTPResponse.Status, String) {
                    let body = try JSONSerialization.data(withJSONObject: ["checks": checks])
                    return try await client.execute(
                        uri: "/v1/coffer/health/checks", method: .put, headers: [vaultToken: token], body: ByteBuffer(bytes: body)
                    ) {
                        ($0.status, String(buffer: $0.body))
                    }
                }
                func check(
                    _ name: String, url: String = target, credentials: String = "secret/health-checks/pg", query: String = "SELECT 1",
                    timeout: Int = 3
                ) -> [String: Any] {
                    [
                        "name": name, "component": "db", "type": "postgres", "url": url, "credentials": credentials, "query": query,
                        "interval": 10, "timeout": timeout
                    ]
                }

                // Writing: the writer must read the credentials; they must be where the runner may read them;
                // the URL names where, never who, and sets nothing else.
                let (noRead, noReadBody) = try await apply([check("ok")], token: plainWriter)
                #expect(noRead == .forbidden && noReadBody.contains("secret/data/health-checks/pg"), "\(noReadBody)")
                let (outside, outsideBody) = try await apply([check("ok", credentials: "secret/elsewhere/pg")], token: writer)
                #expect(outside == .badRequest && outsideBody.contains("secret/health-checks/"), "\(outsideBody)")
                for url in [
                    "postgres://\(role)@\(host):\(port)/\(database)", "postgres://\(role):\(password)@\(host):\(port)/\(database)",
                    target + "?options=-c%20default_transaction_read_only%3Doff", target + "?passfile=/tmp/x", target + "?service=x",
                    target + "?sslcert=/etc/ssl/x.crt", "host=\(host) dbname=\(database)", "postgres:///\(database)"
                ] {
                    let (status, body) = try await apply([check("ok", url: url)], token: writer)
                    #expect(status == .badRequest, "\(url): \(body)")
                    #expect(!body.contains(password), "a refusal never repeats a password")
                }
                let (missing, missingBody) = try await apply(
                    [["name": "ok", "component": "db", "type": "postgres", "url": target]], token: writer)
                #expect(missing == .badRequest && missingBody.contains("credentials"), "\(missingBody)")

                var checks = [
                    check("ok"), check("writes", query: "CREATE TABLE made_by_check AS SELECT 1"),
                    check("two", query: "SELECT 1; CREATE TABLE made_by_second AS SELECT 1"),
                    check("detail", query: "SELECT * FROM table_named_secret_word"),
                    check("slow", query: "SELECT pg_sleep(5)", timeout: 1),
                    check("wrong", credentials: "secret/health-checks/wrong"),
                    check("trusted", credentials: "secret/health-checks/trusted"),
                    check("own", url: "postgres://\(host):\(port)/coffer_test")
                ]
                checks[0]["query"] = "SELECT current_user"
                let (applied, appliedBody) = try await apply(checks, token: writer)
                #expect(applied == .ok, "\(appliedBody)")
            }

            // Run them as the service does.
            let runner = HealthRunner(
                gate: server.gate, monitor: server.healthMonitor, credentials: server.credentials, alerts: server.alerts,
                alertEvaluationInterval: 10,
                ready: { (true, "") }, instance: "test", logger: TestDatabase.logger)
            let own = backend == .postgres ? try await server.database.read { try PostgresProbe.identity(of: $0) } : nil
            let definitions = try await server.gate.perform(
                .service(.healthRunner, path: "coffer/health/checks", operation: .read), status: { _ in 200 }
            ) {
                try await server.healthMonitor.checks($0)
            }
            let results = Dictionary(uniqueKeysWithValues: await runner.probe(definitions, own: own).map { ($0.0.name, $0.1) })
            func expect(_ name: String, _ status: HealthStatus, saying words: String, sourceLocation: SourceLocation = #_sourceLocation) {
                let result = results[name]
                #expect(result?.result == status, "\(name): \(String(describing: result))", sourceLocation: sourceLocation)
                #expect(result?.details.contains(words) == true, "\(name): \(String(describing: result))", sourceLocation: sourceLocation)
                #expect(result?.details.contains(password) == false, sourceLocation: sourceLocation)
            }
            expect("ok", .passing, saying: "query answered (1 row)")
            expect("writes", .critical, saying: "read-only")
            expect("two", .critical, saying: "not one valid statement")
            expect("detail", .critical, saying: "SQLSTATE 42P01")
            #expect(results["detail"]?.details.contains("table_named_secret_word") == false, "the server's text is not passed on")
            expect("slow", .critical, saying: "timeout")
            expect("wrong", .critical, saying: "cannot connect")
            expect("trusted", .critical, saying: "without the check's password")
            if backend == .postgres {
                expect("own", .critical, saying: "Coffer's own database")
            } else {
                expect("own", .passing, saying: "query answered") // on SQLite the test database is not Coffer's own
            }
            // Nothing was written on the target.
            let made = try PostgresTarget(url: "postgres://coffer@\(host):\(port)/\(database)", user: nil, password: nil)
                .count("SELECT 1 FROM pg_class WHERE relname IN ('made_by_check', 'made_by_second')")
            #expect(made == 0)
            // The runner read the credentials as itself, and the trail says so.
            let reads = try await server.auditEntries("secret/data/health-checks/*").filter {
                $0.kind == .response && $0.accessor == "service:health-runner"
            }
            #expect(reads.count >= 7 && reads.allSatisfy { $0.decision == "allow" }, "\(reads.map(\.path))")
        }
    }
}
