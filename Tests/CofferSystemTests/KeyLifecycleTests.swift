import CofferAccess
import CofferCrypto
@testable import CofferKeys
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Two instances on one PostgreSQL: a retire waits for every live instance to seal under the active term, an
/// instance picks up another's rotation by itself, and a rotation and a rekey cannot interleave.
struct KeyLifecycleTests {
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func retireWaitsForEveryLiveInstance() async throws {
        try await withTwoServers { a, b in
            let initialised = try await a.keys.initialize(method: .keyFile)
            let key = try #require(initialised.keyFileKey)
            _ = try await a.keys.unseal(with: key.bytes)
            _ = try await b.keys.unseal(with: key.bytes)
            let root = initialised.rootToken
            try await Application(router: a.makeRouter()).test(.router) { clientA in
                try await Application(router: b.makeRouter()).test(.router) { clientB in
                    #expect(try await clientA.call("/v1/secret/data/s1", token: root, ["data": ["v": "one"]]).0 == .ok)
                    // A rotates; B has not seen it and still seals under term 1.
                    #expect(try await clientA.call("/v1/sys/rotate", .put, token: root).0 == .noContent)
                    #expect(try await b.keys.keyStatus().last?.term == 1)
                    #expect(try await clientB.call("/v1/secret/data/s2", token: root, ["data": ["v": "two"]]).0 == .ok)

                    // A retire now would make B's next writes unreadable: refused, naming B, and nothing retired.
                    let (refused, refusedBody) = try await clientA.call(
                        "/v1/sys/rewrap", .put, token: root, ["batch_size": 1000, "retire": true])
                    #expect(
                        refused == .badRequest && "\(refusedBody)".contains(b.keys.instanceID) && "\(refusedBody)".contains("not retired"),
                        "\(refused) \(refusedBody)")
                    let statuses = try await a.database.read { conn in
                        try conn.query("SELECT status FROM keyring ORDER BY term").map { try $0.decode(String.self, at: 0) }
                    }
                    #expect(statuses == ["decrypt-only", "active"])

                    // B's heartbeat (every 5 s in the service) picks up term 2; then the retire goes through.
                    try await b.keys.heartbeat()
                    #expect(try await b.keys.keyStatus().first { $0.status == .active }?.term == 2)
                    #expect(try await clientB.call("/v1/secret/data/s3", token: root, ["data": ["v": "three"]]).0 == .ok)
                    let (retired, retiredBody) = try await clientA.plain(
                        RewrapProgress.self, "/v1/sys/rewrap", .put, token: root, ["batch_size": 1000, "retire": true])
                    #expect(retired == .ok && retiredBody.retiredTerms == [1], "\(retiredBody)")
                    try await b.keys.heartbeat()
                    #expect(try await b.keys.keyStatus().map(\.term) == [2], "B no longer holds the retired term")
                    for (client, name) in [(clientA, "A"), (clientB, "B")] {
                        for secret in ["s1", "s2", "s3"] {
                            #expect(
                                try await client.call("/v1/secret/data/\(secret)", .get, token: root).0 == .ok, "\(name) reads \(secret)")
                        }
                    }
                }
            }
        }
    }

    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func rotationAndRekeyCannotInterleave() async throws {
        try await withTwoServers { a, b in
            let initialised = try await a.keys.initialize(method: .keyFile)
            let key = try #require(initialised.keyFileKey)
            _ = try await a.keys.unseal(with: key.bytes)
            _ = try await b.keys.unseal(with: key.bytes)
            // A rekey commits on another instance after B's own checks: the rotation's transaction sees the
            // generation moved and refuses, so no term is sealed under a root key that no longer unseals.
            try await a.database.execute("UPDATE seal_config SET root_generation = root_generation + 1")
            await #expect(throws: KeysError.self) { _ = try await b.keys.rotate() }
            #expect(try await a.database.read { try $0.queryScalar(Int.self, "SELECT count(*) FROM keyring") } == 1)
            try await a.database.execute("UPDATE seal_config SET root_generation = root_generation - 1")

            // A rotation commits while a rekey was re-sealing the keys it had read: the rekey's transaction sees a
            // term it did not re-seal and refuses; the seal configuration and every key stay as they were.
            let store = KeyStore(database: a.database)
            let before = try await store.loadSealedKeys()
            _ = try await b.keys.rotate()
            let configuration = try #require(try await store.loadConfiguration())
            let next = SealConfiguration(
                method: configuration.method, keyCheck: Array(repeating: 7, count: 32), rootGeneration: configuration.rootGeneration + 1)
            await #expect(throws: KeysError.self) {
                try await store.rekey(
                    from: configuration.rootGeneration, to: next, keyring: before.keyring.map { ($0.term, $0.box) },
                    system: before.system.map { ($0.purpose, $0.box) })
            }
            let after = try #require(try await store.loadConfiguration())
            #expect(after.rootGeneration == configuration.rootGeneration && after.keyCheck == configuration.keyCheck)
            // Both instances still unseal-free work: the new term opens everywhere.
            try await a.keys.heartbeat()
            #expect(try await a.keys.keyStatus().first { $0.status == .active }?.term == 2)
        }
    }
}
