@testable import CofferAccess
import CofferServer
import CofferServerTesting
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Under the free-space floor of the SQLite database's disk, the Gate refuses changes and lets reads through
/// (their audit entries need only a little of the space left). `make dependency-faults` fills a real file system;
/// here a floor no disk can meet puts the server under it on any machine.
struct StorageFloorTests {
    @Test func underTheFloorChangesAreRefusedAndReadsGoOn() async throws {
        try await withUnsealedServer(flags: .init(storageMinFree: String(1 << 50))) { server, root in
            #expect(server.gate.storageFloor?.minimumFreeBytes == 1 << 50)
            try await Application(router: server.makeRouter()).test(.router) { client in
                let (write, refusal) = try await client.answer(
                    UnreadData.self, "/v1/secret/data/floor", .post, token: root, ["data": ["k": "v"]])
                #expect(write == .serviceUnavailable)
                let message = refusal.errors?.first ?? ""
                #expect(message.contains("storage_min_free") && message.contains("reads go on"), "\(message)")
                #expect(try await client.call("/v1/sys/policies/acl/floor", .put, token: root, ["policy": ""]).0 == .serviceUnavailable)
                // What reads depend on, and what must never wait for space, goes through: logins, renewals,
                // revocations. Creating a token is refused: its metadata could spend the space left for reads.
                let (create, createBody) = try await client.call("/v1/auth/token/create", .post, token: root, ["policies": ["default"]])
                #expect(create == .serviceUnavailable, "\(createBody)")
                #expect(
                    try await client.call("/v1/auth/approle/login", .post, token: nil, ["role_id": "r", "secret_id": "s"]).0
                        != .serviceUnavailable)
                #expect(try await client.call("/v1/auth/token/renew-self", .post, token: root).0 != .serviceUnavailable)
                // Reads: a missing secret is still Vault's 404, the token still looks itself up.
                #expect(try await client.call("/v1/secret/data/floor", .get, token: root).0 == .notFound)
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: root).0 == .ok)
                // The refusal is audited, as a response entry of its own, and the trail still verifies.
                let (verified, report) = try await client.answer(Trail.Verification.self, "/v1/sys/audit-trail/verify", .get, token: root)
                #expect(verified == .ok && report.data?.intact == true, "\(report.data?.finding ?? "no answer")")
            }
        }
    }

    @Test(arguments: [
        ("auth/approle/login", true), ("auth/userpass/login/alice", true), ("auth/token/renew-self", true),
        ("auth/token/revoke-accessor", true), ("auth/token/lookup", true), ("sys/seal", true), ("sys/leases/revoke-prefix/db", true),
        ("sys/wrapping/unwrap", true), ("auth/token/create", false), ("auth/token/create-orphan", false),
        ("auth/token/create/role", false), ("auth/approle/role/app/secret-id", false), ("auth/approle/role/app", false),
        ("auth/token/roles/r", false), ("auth/token/renew-self/x", false), ("secret/data/app", false), ("sys/policies/acl/p", false)
    ])
    func whatGoesThroughUnderTheFloor(_ path: String, _ through: Bool) throws {
        let request = GateRequest(
            token: "t", path: try CanonicalPath(validating: path), operation: .update, requestID: "r", remoteAddress: "test")
        #expect(StorageFloor.letsThrough(request) == through, "\(path)")
    }

    @Test func aFloorOfZeroIsNoneAndPostgreSQLHasNone() throws {
        let none = ServerConfiguration.Inputs()
        let sqlite = try ServerConfiguration(flags: .init(storageMinFree: "0"), environment: none, file: none)
        #expect(sqlite.storageFloor == nil)
        let byDefault = try ServerConfiguration(flags: none, environment: none, file: none)
        #expect(byDefault.storageFloor?.minimumFreeBytes == 256 << 20)
        let postgres = try ServerConfiguration(flags: .init(database: "postgres://coffer@127.0.0.1/coffer"), environment: none, file: none)
        #expect(postgres.storageFloor == nil)
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration(flags: .init(storageMinFree: "64MiB"), environment: none, file: none)
        }
    }

    @Test func theFreeSpaceIsMeasured() throws {
        let floor = StorageFloor(folder: NSTemporaryDirectory(), minimumFreeBytes: 1)
        #expect((floor.freeBytes() ?? 0) > 0)
        #expect(StorageFloor(folder: "/nonexistent-\(UUID().uuidString)", minimumFreeBytes: 1).freeBytes() == nil)
    }
}
