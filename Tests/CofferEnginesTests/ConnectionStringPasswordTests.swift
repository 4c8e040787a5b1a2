import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PropertyBased
import Testing

/// A password written into a connection string, in any spelling libpq reads, is found (so it is never stored)
/// and never shown; Vault's `{{password}}` template names one kept sealed elsewhere and is fine.
struct ConnectionStringPasswordTests {
    static let password = Gen.element(of: Array("abcXYZ019-_.~!*'()$,;=&+ /:?#@[]%\"\\")).compactMap { $0 }.array(of: 1...24)
        .map { String($0) }

    @Test func everySpellingOfAPasswordIsFoundAndNeverShown() async throws {
        await propertyCheck(count: 300, input: Self.password) { password in
            let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
            let quoted = "'" + password.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
            for spelling in [
                "postgres://app:\(encoded)@db.internal:5432/coffer", "postgresql://app@db.internal/coffer?password=\(encoded)",
                "host=db.internal user=app password=\(quoted) dbname=coffer"
            ] {
                guard let parsed = try? PostgresConnectionString(spelling) else {
                    Issue.record("libpq refused \(spelling)")
                    continue
                }
                #expect(parsed.holdsPassword, "\(spelling)")
                #expect(!parsed.redacted.contains(password) || password.count < 3, "\(parsed.redacted)")
                #expect(parsed.redacted.contains("db.internal"))
            }
        }
        for clean in [
            "postgresql://{{username}}:{{password}}@db.internal/coffer", "host=db.internal user=app password={{password}}",
            "postgres://app@db.internal/coffer", "host=db.internal user=app", "postgres://app:@db.internal/coffer"
        ] {
            #expect(try PostgresConnectionString(clean).holdsPassword == false, "\(clean)")
        }
    }

    /// The database engine refuses such a URL before it stores or tries anything, and says what to send instead.
    @Test func theDatabaseEngineRefusesAPasswordInTheURL() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                for url in ["postgres://coffer:s3cret-in-url@127.0.0.1:1/x", "host=127.0.0.1 port=1 user=coffer password=s3cret-in-url"] {
                    let (status, body) = try await client.call(
                        "/v1/database/config/pg", token: root,
                        [
                            "plugin_name": "postgresql-database-plugin", "connection_url": url, "username": "coffer", "password": "x"
                        ])
                    #expect(
                        status == .badRequest && "\(body)".contains("may not hold a password") && !"\(body)".contains("s3cret-in-url"),
                        "\(body)")
                }
                #expect(try await client.call("/v1/database/config/pg", .get, token: root).0 == .notFound)
                let stored = try await server.database.read { conn in
                    try conn.queryScalar(Int.self, "SELECT count(*) FROM database_connections")
                }
                #expect(stored == 0)
            }
        }
    }
}
