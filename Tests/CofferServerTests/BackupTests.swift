import CofferFoundation
import CofferCrypto
import CofferKeys
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Backups: `coffer operator backup` (SQLite's online backup API) while the service serves, restored into a
/// new data folder and unsealed with the original shares; and a pg_dump / pg_restore round trip on PostgreSQL.
struct BackupTests {
    /// Values that must come back byte for byte (multi-byte text, quotes, newlines, a long value).
    static let secrets: [String: [String: String]] = [
        "app/db": ["username": "svc-user-7f3", "password": "pässwörd-\u{1F511}-\"quoted\"\nline2"],
        "app/api": ["key": String(repeating: "k3y-", count: 500)],
        "team/x/y": ["token": "t0ken value with spaces"]
    ]

    @Test func onlineSQLiteBackupRestoresWithTheOriginalShares() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func serve(_ data: String) async throws -> (CofferProcess, String) {
            let (process, port) = try await CofferProcess.serve(
                [], in: folder, environment: ["COFFER_DATABASE_URL": "sqlite:./\(data)/coffer.db"])
            return (process, "http://127.0.0.1:\(port)")
        }
        func run(_ arguments: [String], address: String, token: String? = nil, stdin: Data? = nil) async throws -> (Int32, String) {
            var environment = ["COFFER_ADDR": address]
            if let token { environment["COFFER_TOKEN"] = token }
            return try await CofferProcess.run(arguments, in: folder, environment: environment, stdin: stdin)
        }

        let (first, address) = try await serve("data")
        defer { first.terminate() }
        let (initialised, output) = try await run(["operator", "init", "--shares", "3", "--threshold", "2"], address: address)
        #expect(initialised == 0, "\(output)")
        let shares = output.split(separator: "\n").filter { $0.hasPrefix("Unseal Key ") }.map {
            String($0.split(separator: " ").last ?? "")
        }
        let root = try #require(
            output.split(separator: "\n").first { $0.hasPrefix("Initial Root Token: ") }?.split(separator: " ").last.map(String.init))
        #expect(shares.count == 3)
        // Exit status 2 while still sealed (a share short), 0 once unsealed.
        #expect(try await run(["operator", "unseal"], address: address, stdin: Data((shares[0] + "\n").utf8)).0 == 2)
        #expect(try await run(["operator", "unseal"], address: address, stdin: Data((shares[1] + "\n").utf8)).0 == 0)
        for (path, data) in Self.secrets.sorted(by: { $0.key < $1.key }) {
            var pairs: [String] = []
            for (index, (key, value)) in data.enumerated() {
                try value.write(toFile: "\(folder)/value\(index)", atomically: true, encoding: .utf8)
                pairs.append("\(key)=@value\(index)")
            }
            #expect(try await run(["kv", "put", path] + pairs, address: address, token: root).0 == 0)
        }

        // The snapshot is taken while the service runs, and holds no plaintext.
        let (backedUp, backupOutput) = try await run(
            ["operator", "backup", "--database", "sqlite:./data/coffer.db", "snapshot.db"], address: address)
        #expect(backedUp == 0, "\(backupOutput)")
        #expect(try FileManager.default.attributesOfItem(atPath: "\(folder)/snapshot.db")[.posixPermissions] as? Int == 0o600)
        let snapshot = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/snapshot.db"))
        for value in Self.secrets.values.flatMap(\.values) + [root] {
            #expect(snapshot.range(of: Data(value.utf8)) == nil, "the snapshot holds a value in the clear")
        }
        #expect(
            try await run(["operator", "backup", "--database", "sqlite:./data/coffer.db", "snapshot.db"], address: address).0 != 0,
            "an existing file is never overwritten")
        first.terminate()
        #expect(try await first.waitForExit() == 0)

        // Restore into a new data folder: sealed until the original shares unseal it; every value comes back.
        try FileManager.default.createDirectory(atPath: "\(folder)/restored", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(folder)/snapshot.db", toPath: "\(folder)/restored/coffer.db")
        let (second, restoredAddress) = try await serve("restored")
        defer { second.terminate() }
        #expect(try await run(["kv", "get", "app/db"], address: restoredAddress, token: root).0 != 0, "sealed after restore")
        #expect(try await run(["operator", "unseal"], address: restoredAddress, stdin: Data((shares[2] + "\n").utf8)).0 == 2)
        #expect(try await run(["operator", "unseal"], address: restoredAddress, stdin: Data((shares[1] + "\n").utf8)).0 == 0)
        for (path, data) in Self.secrets {
            let (status, json) = try await run(["kv", "get", "-format=json", path], address: restoredAddress, token: root)
            #expect(status == 0, "\(json)")
            #expect(try VaultAnswer<KV.Read>(json: json).data?.data == data.mapValues { JSONValue.string($0) }, "\(path) came back changed")
        }
        second.terminate()
        #expect(try await second.waitForExit() == 0)
    }

    /// Docs/OPERATIONS.md's PostgreSQL recipe: pg_dump --format=custom, pg_restore into a new database,
    /// unseal with the same key, every secret reads back.
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func pgDumpAndRestoreRoundTrip() async throws {
        let base = try #require(TestDatabase.postgresURL)
        let bin = "/usr/lib/postgresql/15/bin"
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = try await TestDatabase.create(.postgres)
        let schema = try #require(source.url.components(separatedBy: "search_path%3D").last)
        let (key, root): ([UInt8], String)
        let sourceServer = try await CofferServer.prepare(
            configuration: try ServerConfiguration(flags: .init(database: source.url), environment: .init(), file: .init()),
            logger: TestDatabase.logger)
        do {
            let initialised = try await sourceServer.keys.initialize(method: .keyFile)
            _ = try await sourceServer.keys.unseal(with: try #require(initialised.keyFileKey).bytes)
            (key, root) = (try #require(initialised.keyFileKey).bytes.unprotectedCopy(), initialised.rootToken)
            let token = initialised.rootToken
            try await Application(router: sourceServer.makeRouter()).test(.router) { client in
                for (path, data) in Self.secrets {
                    let status = try await client.call("/v1/secret/data/\(path)", token: token, ["data": data]).0
                    #expect(status == .ok)
                }
            }
        } catch {
            await sourceServer.database.close()
            throw error
        }
        await sourceServer.database.close()
        let restored = "coffer_restore_" + UUID().uuidString.prefix(8).lowercased()
        func tool(_ name: String, _ arguments: [String]) throws -> (Int32, String) {
            try ExternalCommand.run("\(bin)/\(name)", arguments)
        }
        let plainBase = base.components(separatedBy: "?")[0]
        let (dumped, dumpOutput) = try tool("pg_dump", ["--format=custom", "--schema=\(schema)", "--file=\(folder)/coffer.dump", plainBase])
        #expect(dumped == 0, "\(dumpOutput)")
        let (created, createOutput) = try tool("createdb", ["--maintenance-db=\(plainBase)", restored])
        #expect(created == 0, "\(createOutput)")
        let restoredBase = plainBase.replacingOccurrences(
            of: "/" + (plainBase.split(separator: "/").last.map(String.init) ?? ""), with: "/\(restored)")
        let (loaded, loadOutput) = try tool("pg_restore", ["--no-owner", "--dbname=\(restoredBase)", "\(folder)/coffer.dump"])
        #expect(loaded == 0, "\(loadOutput)")
        let dump = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/coffer.dump"))
        #expect(Self.secrets.values.flatMap(\.values).allSatisfy { dump.range(of: Data($0.utf8)) == nil }, "the dump holds only ciphertext")

        let restoredURL = restoredBase + "?options=-c%20search_path%3D\(schema)"
        let configuration = try ServerConfiguration(flags: .init(database: restoredURL), environment: .init(), file: .init())
        let server = try await CofferServer.prepare(configuration: configuration, logger: TestDatabase.logger)
        do {
            _ = try await server.keys.unseal(with: SecureBytes(copying: key))
            try await Application(router: server.makeRouter()).test(.router) { client in
                for (path, data) in Self.secrets {
                    let (status, body) = try await client.answer(KV.Read.self, "/v1/secret/data/\(path)", .get, token: root)
                    #expect(status == .ok)
                    #expect(body.data?.data == data.mapValues { JSONValue.string($0) })
                }
            }
        } catch {
            await server.database.close()
            throw error
        }
        await server.database.close()
        try await source.drop()
        _ = try tool("dropdb", ["--maintenance-db=\(plainBase)", restored])
    }
}
