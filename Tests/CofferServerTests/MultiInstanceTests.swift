import CofferAccess
import CofferCrypto
import CofferFoundation
import CofferKeys
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Testing

/// Two service processes on one PostgreSQL append to one audit chain, without a fork or a gap.
struct MultiInstanceTests {
    static func port(from line: String) throws -> Int {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        let listen = try #require(object["coffer.listen"])
        return try #require(Int(listen.split(separator: ":").last ?? ""))
    }

    static func request(_ port: Int, _ path: String, method: String = "GET", token: String? = nil, body: [String: Any]? = nil) async throws
        -> (Int, [String: Any])
    {
        let (status, data) = try await raw(port, path, method: method, token: token, body: body)
        let object = data.isEmpty ? [:] : (try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:])
        return (status, object)
    }

    /// Like ``request(_:_:method:token:body:)``, the answer decoded as Vault's envelope with `data` a `D`.
    static func answer<D: Decodable>(
        _ type: D.Type, _ port: Int, _ path: String, method: String = "GET", token: String? = nil, body: [String: Any]? = nil
    ) async throws -> (Int, VaultAnswer<D>) {
        let (status, data) = try await raw(port, path, method: method, token: token, body: body)
        return (status, try JSONDecoder().decode(VaultAnswer<D>.self, from: data.isEmpty ? Data("{}".utf8) : data))
    }

    /// One request to a running `coffer` process: the status and the body's bytes.
    static func raw(_ port: Int, _ path: String, method: String, token: String?, body: [String: Any]?) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let token { request.setValue(token, forHTTPHeaderField: "X-Vault-Token") }
        if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// Two `coffer serve` processes on one scratch PostgreSQL database: the first initialised and unsealed over
    /// HTTP, the second unsealed by the same key from a file. Both are stopped (and the folder removed) after `body`.
    static func withTwoInstances(
        _ body: (_ first: CofferProcess, _ second: CofferProcess, _ ports: (Int, Int), _ root: String, _ key: String) async throws -> Void
    ) async throws -> TestDatabase.Scratch {
        let scratch = try await TestDatabase.create(.postgres)
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let environment = ["COFFER_DATABASE_URL": scratch.url]
        let serve = ["serve", "--listen", "127.0.0.1:0", "--log-format", "json"]
        let first = try CofferProcess(serve, in: folder, environment: environment)
        defer { first.terminate() }
        let firstPort = try Self.port(from: try await first.waitForLine(containing: "coffer is serving"))
        let (initStatus, initData) = try await Self.raw(
            firstPort, "/v1/sys/init", method: "PUT", token: nil, body: ["unseal_method": "keyfile"])
        #expect(initStatus == 200)
        let initialised = try JSONDecoder().decode(Sys.InitKeys.self, from: initData)
        let key = try #require(initialised.keysBase64.first)
        #expect(try await Self.request(firstPort, "/v1/sys/unseal", method: "PUT", body: ["key": key]).0 == 200)
        let keyFile = "\(folder)/unseal.key"
        #expect(FileManager.default.createFile(atPath: keyFile, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600]))
        let second = try CofferProcess(serve + ["--unseal-key-file", keyFile], in: folder, environment: environment)
        defer { second.terminate() }
        let secondPort = try Self.port(from: try await second.waitForLine(containing: "coffer is serving"))
        try await body(first, second, (firstPort, secondPort), initialised.rootToken, key)
        return scratch
    }

    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func twoInstancesShareOneChain() async throws {
        var key = ""
        let scratch = try await Self.withTwoInstances { first, second, ports, root, unsealKey in
            key = unsealKey
            let (firstPort, secondPort) = ports

            // 120 requests at once, alternating between the instances.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<120 {
                    let port = index.isMultiple(of: 2) ? firstPort : secondPort
                    group.addTask { try await Self.request(port, "/v1/auth/token/lookup-self", token: root).0 }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
            first.terminate()
            second.terminate()
            #expect(try await first.waitForExit() == 0)
            #expect(try await second.waitForExit() == 0)
        }

        // One chain, verified with the trail's public key.
        let database = try await scratch.location.open(logger: TestDatabase.logger)
        let keys = try await KeyHierarchy(database: database)
        _ = try await keys.unseal(with: SecureBytes(copying: try #require(Data(base64Encoded: key))))
        let publicKey = try Ed25519SigningKey(seed: try keys.systemKey(.auditSigningSeed).bytes).publicKey
        let trail = AuditTrail(database: database)
        let finding = try await trail.verify(publicKey: publicKey, witnessed: []).finding
        var lookups = 0
        try await trail.forEach { if $0.entry.path == "auth/token/lookup-self" { lookups += 1 } }
        #expect(lookups == 120, "one entry per read: its response entry")
        if case .intact(let entries) = finding { #expect(entries >= 124) } else { Issue.record("the chain is broken: \(finding)") }
        await database.close()
        try await scratch.drop()
    }

    /// A token revoked on one instance is refused by the other from the moment the revoke has returned, though
    /// the other holds the token's identity in its cache: 1,000 times, a token read on the second instance (so
    /// it is cached there), then revoked on the first while the second is read in a loop at the same time. A read
    /// that began after the revoke returned and succeeded would be a stale success; there must be none.
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func aRevocationOnOneInstanceIsHonouredByTheOtherBeforeItReturns() async throws {
        let scratch = try await Self.withTwoInstances { _, _, ports, root, _ in
            let (a, b) = ports

            #expect(try await Self.request(a, "/v1/sys/mounts/revocation", method: "POST", token: root, body: ["type": "kv-v2"]).0 == 204)
            #expect(
                try await Self.request(a, "/v1/revocation/data/app", method: "POST", token: root, body: ["data": ["k": "v"]]).0 == 200)
            let policy = "path \"revocation/data/app\" { capabilities = [\"read\"] }"
            #expect(
                try await Self.request(a, "/v1/sys/policies/acl/app-reader", method: "PUT", token: root, body: ["policy": policy]).0 == 204)

            let clock = ContinuousClock()
            var stale = 0, raced = 0, refusedAfter = 0
            for round in 0..<1_000 {
                let (_, created) = try await Self.answer(
                    UnreadData.self, a, "/v1/auth/token/create", method: "POST", token: root, body: ["policies": ["app-reader"]])
                let token = try #require(created.auth?.clientToken, "round \(round): \(created)")
                #expect(try await Self.request(b, "/v1/revocation/data/app", token: token).0 == 200, "round \(round): cached on the second")
                let revoked = Locked<ContinuousClock.Instant?>(nil)
                let reads = try await withThrowingTaskGroup(of: [(ContinuousClock.Instant, Int)].self) { group in
                    group.addTask {
                        let status = try await Self.request(a, "/v1/auth/token/revoke", method: "POST", token: root, body: ["token": token])
                            .0
                        revoked.withLock { $0 = clock.now }
                        #expect(status == 204)
                        return [] as [(ContinuousClock.Instant, Int)]
                    }
                    group.addTask {
                        // Until a read that began after the revoke returned has been answered.
                        var reads: [(ContinuousClock.Instant, Int)] = []
                        while true {
                            let began = clock.now
                            let status = try await Self.request(b, "/v1/revocation/data/app", token: token).0
                            reads.append((began, status))
                            if let end = revoked.withLock({ $0 }), began > end { return reads }
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                let end = try #require(revoked.withLock { $0 })
                for (began, status) in reads {
                    if began > end {
                        if status == 200 { stale += 1 } else if status == 403 { refusedAfter += 1 }
                    } else {
                        raced += 1
                    }
                }
            }
            #expect(stale == 0, "reads that began after the revoke returned and succeeded")
            #expect(refusedAfter >= 1_000, "every round ended on a refused read")
            print("revocations: 1000; reads that raced a revoke: \(raced); refused after it returned: \(refusedAfter); stale: \(stale)")
        }
        try await scratch.drop()
    }
}
