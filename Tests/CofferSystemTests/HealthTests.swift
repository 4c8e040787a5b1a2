import CofferServer
import CofferServerTesting
import CofferStore
import CofferSystem
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `sys/health` and the error shape, through the router without a socket.
struct HealthTests {
    @Test func uninitialisedAnswersAsVaultDoes() async throws {
        try await withServer(clusterName: "test-cluster") { server in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.execute(uri: "/v1/sys/health", method: .get) { response in
                    #expect(response.status.code == 501)
                    #expect(response.headers[.contentType] == "application/json")
                    #expect(response.headers[.cacheControl] == "no-store")
                    let body = try JSON.decode(Sys.Health.self, response.body)
                    #expect(!body.initialized && body.sealed && !body.standby)
                    #expect(body.clusterName == "test-cluster" && body.clusterID == server.identity.clusterID)
                    #expect(body.replicationDRMode == "disabled")
                    #expect(abs(body.serverTimeUTC - Int(Date().timeIntervalSince1970)) < 60)
                    #expect(body.storage.backend == "sqlite" && body.storage.migrationsCurrent && body.storage.reachable)
                }
                try await client.execute(uri: "/v1/sys/health?uninitcode=200", method: .get) { response in
                    #expect(response.status.code == 200)
                }
                try await client.execute(uri: "/v1/sys/health", method: .head) { response in
                    #expect(response.status.code == 501)
                    #expect(response.body.readableBytes == 0)
                }
            }
        }
    }

    @Test func badStatusCodeParameterIs400InVaultShape() async throws {
        try await withServer { server in
            try await Application(router: server.makeRouter()).test(.router) { client in
                for query in ["uninitcode=abc", "activecode=99", "activecode=100", "activecode=199", "standbycode=", "sealedcode=600"] {
                    try await client.execute(uri: "/v1/sys/health?\(query)", method: .get) { response in
                        #expect(response.status == .badRequest, "\(query)")
                        #expect(response.headers[.contentType] == "application/json")
                        let errors = try JSON.decode(Sys.Refusal.self, response.body).errors
                        #expect(errors.count == 1 && errors[0].contains("HTTP status code"))
                    }
                }
            }
        }
    }

    /// As Vault: a path nothing is mounted at is refused without a token (403, so mounts cannot be probed) and
    /// is a 404 naming the path with one.
    @Test func unknownPathAnswersAsVaultDoes() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.execute(uri: "/v1/nothing/routed/here", method: .get) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.headers[.contentType] == "application/json")
                    let errors = try JSON.decode(Sys.Refusal.self, response.body).errors
                    #expect(errors == ["permission denied"])
                }
                try await client.execute(uri: "/v1/nothing/routed/here", method: .get, headers: [vaultToken: root]) { response in
                    #expect(response.status == .notFound)
                    let errors = try JSON.decode(Sys.Refusal.self, response.body).errors
                    #expect(errors.count == 1 && errors[0].contains("nothing/"), "\(errors)")
                }
            }
        }
    }

    /// A database migrated further than this binary knows reports unavailable, whatever the seal says.
    @Test func newerSchemaReportsUnavailable() async throws {
        try await withServer { server in
            try await server.database.execute(
                "INSERT INTO schema_migrations (number, name, checksum, applied_at) VALUES (\(99), \("future"), \("x"), \(Date()))")
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.execute(uri: "/v1/sys/health?uninitcode=200", method: .get) { response in
                    #expect(response.status.code == 503)
                    let storage = try JSON.decode(Sys.Health.self, response.body).storage
                    #expect(!storage.migrationsCurrent && storage.error?.contains("newer") == true, "\(storage)")
                }
            }
        }
    }

    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func healthOnPostgres() async throws {
        try await withServer(.postgres) { server in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.execute(uri: "/v1/sys/health", method: .get) { response in
                    #expect(response.status.code == 501)
                    let storage = try JSON.decode(Sys.Health.self, response.body).storage
                    #expect(storage.backend == "postgresql" && storage.migrationsCurrent)
                }
            }
        }
    }

    /// Several instances on one database share one identity.
    @Test func identityIsCreatedOnce() async throws {
        try await TestDatabase.with(.sqlite) { db in
            try await Migrator(database: db, migrations: .embedded(for: .sqlite), logger: TestDatabase.logger).migrate()
            let first = try await InstanceIdentity.ensure(in: db, clusterName: "a")
            let second = try await InstanceIdentity.ensure(in: db, clusterName: "b")
            #expect(first == second)
            #expect(first.clusterName == "a")
        }
    }
}
