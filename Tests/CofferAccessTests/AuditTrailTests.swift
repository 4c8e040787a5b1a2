import CofferAccess
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The audit trail as the Gate writes it: every request, no secret in the clear, tamper evidence, fail closed.
struct AuditTrailTests {
    func everyRequestIsAuditedWithoutSecrets(_ server: CofferServer, _ root: String) async throws {
        let issued = try await Application(router: server.makeRouter()).test(.router) { client in
            let issued = try await client.createToken(parent: root, ["policies": ["default"]]).token
            #expect(try await client.call("/v1/sys/key-status", .get, token: issued).0 == .forbidden)
            #expect(try await client.call("/v1/sys/key-status", .get, token: nil).0 == .forbidden)
            #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: issued).0 == .ok)
            // The auditor can hash a known value and find it in the trail.
            try await client.call(
                "/v1/sys/policies/acl/auditor", .put, token: root,
                ["policy": "path \"sys/audit-trail/*\" { capabilities = [\"read\", \"update\", \"audit\"] }"])
            let auditor = try await client.createToken(parent: root, ["policies": ["auditor"]]).token
            let (hashStatus, hashBody) = try await client.answer(
                Trail.Hash.self, "/v1/sys/audit-trail/hash", token: auditor, ["input": issued])
            #expect(hashStatus == .ok)
            let hash = try #require(hashBody.data?.hash)
            #expect(hash.hasPrefix("hmac:"))
            let (_, found) = try await client.answer(
                Trail.Entries.self, "/v1/sys/audit-trail/entries?path=auth/token/create&limit=50", .get, token: auditor)
            let entries = try #require(found.data?.entries)
            #expect(entries.contains { $0["auth.client_token"]?.string == hash })
            // The auditor may not do anything else.
            #expect(try await client.call("/v1/sys/policies/acl", .get, token: auditor).0 == .forbidden)
            let (verified, verdict) = try await client.answer(Trail.Verification.self, "/v1/sys/audit-trail/verify", .get, token: auditor)
            #expect(verified == .ok && verdict.data?.intact == true)
            return issued
        }
        let rows = try await server.database.query("SELECT kind, decision, status, fields, path FROM audit_log ORDER BY sequence")
        #expect(rows.count >= 10)
        func entries(_ path: String) throws -> [(kind: String, status: Int, fields: String)] {
            try rows.filter { try $0.decode(String.self, at: 4) == path }.map {
                (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 2), try $0.decode(String.self, at: 3))
            }
        }
        // A change: its request entry (committed before it ran), then its response entry.
        #expect(try entries("sys/policies/acl/auditor").map(\.kind) == ["request", "response"])
        // A read, allowed or refused, leaves one entry: its response entry, which carries the request's fields.
        let reads = try entries("auth/token/lookup-self") + entries("sys/key-status")
        #expect(reads.map(\.kind) == ["response", "response", "response"])
        #expect(reads.allSatisfy { $0.fields.contains(#"["remote_address","#) && $0.fields.contains(#"["policies","#) })
        #expect(Set(reads.map(\.status)) == [200, 403])
        let decisions = try rows.map { try $0.decode(String.self, at: 1) }
        #expect(decisions.contains("deny"))
        let denial = try #require(
            rows.first { (try? $0.decode(String.self, at: 1)) == "deny" && (try? $0.decode(String.self, at: 4)) == "sys/key-status" })
        #expect(try denial.decode(String.self, at: 3).contains("rule"))
        // No token in the clear anywhere in the trail.
        for row in rows {
            let fields: String = try row.decode(at: 3)
            #expect(!fields.contains(issued) && !fields.contains(root))
        }
        #expect(try await server.verifyTrail() == .intact(entries: Int64(rows.count)))
    }

    @Test(arguments: TestDatabase.backends)
    func everyRequestIsAudited(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend, everyRequestIsAuditedWithoutSecrets)
    }

    /// Editing, deleting or reordering stored entries is found and named.
    func tamperingIsFound(_ server: CofferServer, _ root: String) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            // One entry per read: sequences 1 to 8.
            for _ in 0..<8 { _ = try await client.call("/v1/auth/token/lookup-self", .get, token: root) }
        }
        #expect(try await server.verifyTrail().isIntact)
        let db = server.database
        // A query column changed without its hashed fields: caught as an alteration of that entry.
        try await db.execute("UPDATE audit_log SET accessor = 'someone-else' WHERE sequence = 3")
        #expect(try await server.verifyTrail() == .altered(sequence: 3))
        try await db.execute("UPDATE audit_log SET accessor = (SELECT accessor FROM audit_log WHERE sequence = 4) WHERE sequence = 3")
        // The hashed content changed.
        let fields: String = try #require(
            try await db.read { try $0.queryScalar(String.self, "SELECT fields FROM audit_log WHERE sequence = 5") })
        try await db.execute(
            "UPDATE audit_log SET fields = \(fields.replacingOccurrences(of: "lookup-self", with: "lookup-selF")) WHERE sequence = 5")
        #expect(try await server.verifyTrail() == .altered(sequence: 5))
        try await db.execute("UPDATE audit_log SET fields = \(fields) WHERE sequence = 5")
        #expect(try await server.verifyTrail().isIntact)
        // An entry removed.
        try await db.execute("DELETE FROM audit_log WHERE sequence = 6")
        #expect(try await server.verifyTrail() == .removed(after: 5, next: 7))
    }

    @Test(arguments: TestDatabase.backends)
    func tamperingIsFound(_ backend: TestBackend) async throws { try await withUnsealedServer(backend, tamperingIsFound) }

    /// A stuck audit sink fails requests with 503 within the bound, never hangs them, withholds their result,
    /// and health says why; once the sink moves again, requests succeed.
    @Test(arguments: TestDatabase.backends)
    func stuckSinkFailsClosed(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend, auditTimeout: "1000") { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: root).0 == .ok)
                // Another session holds the chain head's lock until the test has seen the refusal and the health
                // answer: every audit append waits behind it, however late the request reaches its append (the
                // test process runs many suites on two cores), and no sleep stands in for "long enough".
                // The holder says when it has the lock, so the request below meets a held lock, not a race to it.
                let (locked, lockTaken) = AsyncStream.makeStream(of: Void.self)
                let release = DispatchSemaphore(value: 0)
                let holder = Task {
                    try await server.database.transaction { conn in
                        let lock: SQLQuery =
                            server.database.dialect == .postgres
                            ? "SELECT sequence FROM audit_head WHERE id = 1 FOR UPDATE"
                            : "UPDATE audit_head SET sequence = sequence WHERE id = 1"
                        _ = try conn.query(lock)
                        lockTaken.yield()
                        lockTaken.finish()
                        // A bound, so a failed expectation below cannot leave the lock held for good.
                        _ = release.wait(timeout: .now() + 30)
                    }
                }
                for await _ in locked { break }
                let tokenRows = {
                    try await server.database.read { conn in try conn.queryScalar(Int.self, "SELECT count(*) FROM tokens") }
                }
                let tokensBefore = try await tokenRows()
                let started = ContinuousClock.now
                let (status, body) = try await client.call("/v1/auth/token/create", token: root, ["policies": ["default"]])
                let waited = ContinuousClock.now - started
                #expect(status == .serviceUnavailable)
                #expect(body["auth"] == nil, "the new token must not be returned")
                #expect(
                    waited < .milliseconds(4500),
                    "the request waited \(waited): it must give up at the 1 s bound, not wait for the held lock")
                try await client.execute(uri: "/v1/sys/health", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let health = try JSON.decode(Integrity.AuditHealth.self, response.body)
                    #expect(health.audit.ok == false)
                }
                release.signal()
                try await holder.value
                // Released: the trail takes entries again (the first request after the lock may still meet its bound).
                var recovered = HTTPResponse.Status.serviceUnavailable
                for _ in 0..<50 where recovered != .ok {
                    recovered = try await client.call("/v1/auth/token/lookup-self", .get, token: root).0
                }
                #expect(recovered == .ok)
                // The token's row would commit with the request's entry (a recorded change): refused at the bound
                // before it ran, it was cancelled, not made once the lock was let go (the group holding it has
                // committed by now: the lookups after it did).
                #expect(try await tokenRows() == tokensBefore, "a 503 token create must not leave a token behind")
                try await client.execute(uri: "/v1/sys/health", method: .get) { #expect($0.status == .ok) }
            }
        }
    }
}

/// `AuditTrail.newest`: the newest matches first, however far back the oldest are (more than one page of 1,000),
/// with the path glob and the count honoured; the same entries `query` returns, reversed.
struct AuditTrailNewestTests {
    @Test(arguments: TestDatabase.backends)
    func newestMatchesComeFirst(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                for index in 0..<1_100 {
                    let path = index.isMultiple(of: 3) ? "/v1/auth/token/lookup-self" : "/v1/sys/key-status"
                    _ = try await client.call(path, .get, token: root)
                }
            }
            let trail = AuditTrail(database: server.database)
            let newest = try await trail.newest(.init(pathGlob: "auth/token/lookup-self", limit: 5))
            let all = try await trail.query(.init(pathGlob: "auth/token/lookup-self", limit: 10_000))
            #expect(all.count >= 367)
            #expect(newest.map(\.record.sequence) == all.suffix(5).reversed().map(\.record.sequence))
            #expect(newest.allSatisfy { $0.entry.path == "auth/token/lookup-self" })
        }
    }
}
