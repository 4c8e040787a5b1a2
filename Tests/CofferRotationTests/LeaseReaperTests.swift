import CofferAccess
import CofferCrypto
@testable import CofferEngines
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

/// The lease reaper across instances: each expired lease is revoked once, by one instance.
struct LeaseReaperTests {
    /// Two instances on one PostgreSQL reap 40 expired leases at once, in batches of 7, until nothing is due. The
    /// role's revocation statements log each revocation in a table on the target before dropping the role: every
    /// username is logged exactly once, every role is gone, the revoked counts add up to 40, no lease is left.
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func twoInstancesReapEachExpiredLeaseOnce() async throws {
        let url = try #require(TestDatabase.postgresURL)
        let setup = try PostgresTarget(url: url, user: nil, password: nil)
        let run = UUID().uuidString.prefix(8).lowercased()
        let log = "reap_log_\(run)"
        try setup.execute("CREATE TABLE \(log) (username TEXT NOT NULL)")
        defer { try? setup.execute("DROP TABLE IF EXISTS \(log)") }
        let usernames = (0..<40).map { "v-reap-\(run)-\($0)" }
        try await withTwoServers { a, b in
            let admin = try PostgresTarget(url: url, user: nil, password: nil)
            let initialised = try await a.keys.initialize(method: .keyFile)
            let key = try #require(initialised.keyFileKey)
            _ = try await a.keys.unseal(with: key.bytes)
            _ = try await b.keys.unseal(with: key.bytes)
            let root = initialised.rootToken
            let templated = url.replacingOccurrences(of: "postgres://coffer@", with: "postgresql://{{username}}:{{password}}@")
            try await Application(router: a.makeRouter()).test(.router) { client in
                let (configured, _) = try await client.call(
                    "/v1/database/config/pg", token: root,
                    [
                        "plugin_name": "postgresql-database-plugin", "connection_url": templated, "username": "coffer",
                        "password": "not-needed-by-trust", "allowed_roles": "logged"
                    ])
                #expect(configured == .noContent)
                let (role, roleBody) = try await client.call(
                    "/v1/database/roles/logged", token: root,
                    [
                        "db_name": "pg", "creation_statements": [#"CREATE ROLE "{{name}}";"#],
                        "revocation_statements": [
                            "INSERT INTO \(log) (username) VALUES ('{{name}}');", #"DROP ROLE IF EXISTS "{{name}}";"#
                        ],
                        "default_ttl": 60, "max_ttl": 60
                    ])
                #expect(role == .noContent, "\(roleBody)")
            }
            // Expired leases written as the service writes them (tags included), their roles made on the target.
            let sealer = try a.keys.sealer()
            try await a.database.transaction { conn in
                for username in usernames {
                    try Self.insertExpiredLease(
                        id: "database/creds/logged/\(username)", role: "logged", db: "pg", username: username, on: conn, sealer: sealer)
                }
            }
            for username in usernames { try admin.execute("CREATE ROLE \(try admin.identifier(username))") }

            let totals = try await withThrowingTaskGroup(of: (revoked: Int, failed: Int).self) { group in
                for server in [a, b] {
                    group.addTask {
                        var revoked = 0, failed = 0
                        while true {
                            let batch = try await server.gate.perform(
                                GateRequest(
                                    token: nil, path: "sys/leases/tidy", operation: .delete, access: .open, requestID: "t",
                                    remoteAddress: "test"), status: { _ in 200 }
                            ) { grant in try await server.databaseEngine.reapExpired(grant, limit: 7) }
                            (revoked, failed) = (revoked + batch.revoked, failed + batch.failed)
                            if batch.revoked + batch.failed == 0 { return (revoked, failed) }
                        }
                    }
                }
                return try await group.reduce(into: [(revoked: Int, failed: Int)]()) { $0.append($1) }
            }
            #expect(totals.map(\.revoked).reduce(0, +) == 40 && totals.allSatisfy { $0.failed == 0 }, "\(totals)")
            let logged = try admin.count("SELECT 1 FROM \(log)")
            let distinct = try admin.count("SELECT DISTINCT username FROM \(log)")
            #expect(logged == 40 && distinct == 40, "each lease's revocation statements ran once: \(logged) runs for \(distinct) leases")
            let left = try admin.count("SELECT 1 FROM pg_roles WHERE rolname LIKE \(try admin.literal("v-reap-\(run)-%"))")
            #expect(left == 0, "every role dropped")
            let leases = try await a.database.read { try $0.queryScalar(Int.self, "SELECT count(*) FROM leases") }
            #expect(leases == 0)
        }
    }

    /// Writes a lease that expired 30 s ago as the service writes one (its tag included: an untagged lease is
    /// refused), for tests of the reaper.
    static func insertExpiredLease(id: String, role: String, db: String, username: String, on conn: any SQLConnection, sealer: Sealer)
        throws
    {
        let lease = Lease(
            id: id, roleName: role, dbName: db, username: username, accessor: "test", issuedAt: Date(timeIntervalSinceNow: -60),
            renewedAt: nil, expiresAt: Date(timeIntervalSinceNow: -30), maxExpiresAt: Date(timeIntervalSinceNow: 60))
        let tag = try sealer.tag(DatabaseEngine.authenticated(lease, accessor: lease.accessor))
        _ = try conn.execute(
            """
            INSERT INTO leases (lease_id, role_name, db_name, username, accessor, issued_at, expires_at, max_expires_at,
                                auth_term, auth_tag)
            VALUES (\(lease.id), \(role), \(db), \(lease.username), \(lease.accessor), \(lease.issuedAt), \(lease.expiresAt),
                    \(lease.maxExpiresAt), \(tag.term), \(tag.tag))
            """)
    }
}
