import CofferFoundation
import CofferStore
import CofferTesting
import Foundation
import Testing

/// Bad configuration fails with one clear error and touches nothing.
struct BadInputTests {
    @Test(arguments: ["mysql://x", "sqlite:", "sqlite:/tmp/dir/", "just words", "postgres://user:pw@host:notaport/db"])
    func malformedDatabaseURLs(url: String) async throws {
        do {
            let location = try DatabaseLocation(parsing: url)
            _ = try await location.open(logger: TestDatabase.logger)
            Issue.record("\(url) was accepted")
        } catch let error as StoreError {
            #expect(error.code == .invalidConfiguration || error.code == .connectionFailed)
            #expect(!error.message.contains("pw@"), "the password must not be quoted")
        }
    }

    @Test func passwordNeverShown() throws {
        let location = try DatabaseLocation(parsing: "postgres://coffer:topsecret@db.example:5433/vault?sslmode=require")
        #expect(!location.description.contains("topsecret"))
        #expect(location.description.contains("sslmode=require"))
    }

    @Test func unreachableServer() async throws {
        let location = try DatabaseLocation(parsing: "postgres://coffer:topsecret@127.0.0.1:1/coffer?connect_timeout=2")
        do {
            _ = try await location.open(logger: TestDatabase.logger)
            Issue.record("connected to nothing")
        } catch let error as StoreError {
            #expect(error.code == .connectionFailed)
            #expect(error.message.contains("cannot connect to PostgreSQL"))
            #expect(!error.message.contains("topsecret"))
        }
    }

    @Test func dataFolderThatCannotBeCreated() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let blocker = "\(folder)/not-a-folder"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data("keep me".utf8))
        do {
            _ = try await SQLiteDatabase(path: "\(blocker)/data/coffer.db", logger: TestDatabase.logger)
            Issue.record("opened a database under a regular file")
        } catch let error as StoreError {
            #expect(error.code == .cannotOpen)
            #expect(error.message.contains("not-a-folder"))
        }
        #expect(FileManager.default.contents(atPath: blocker) == Data("keep me".utf8))
    }

    @Test func sqliteFilesArePrivate() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let db = try await SQLiteDatabase(path: "\(folder)/new/coffer.db", logger: TestDatabase.logger)
        try await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        await db.close()
        let folderMode = try FileManager.default.attributesOfItem(atPath: "\(folder)/new")[.posixPermissions] as? Int
        let fileMode = try FileManager.default.attributesOfItem(atPath: "\(folder)/new/coffer.db")[.posixPermissions] as? Int
        #expect(folderMode == 0o700)
        #expect(fileMode == 0o600)
    }

    @Test func readersCannotWrite() async throws {
        try await TestDatabase.with(.sqlite) { db in
            try await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            await StoreContract.expectCode(.readOnly) { _ = try await db.read { try $0.execute("INSERT INTO t (id) VALUES (\(1))") } }
        }
    }
}
