import CofferFoundation
import CofferStore
import Foundation
import Testing

struct MigrationSetTests {
    func files(_ names: [String]) -> [MigrationFile] { names.map { MigrationFile(fileName: $0, sql: "SELECT 1;") } }

    @Test func ordersByNumber() throws {
        let set = try MigrationSet(dialect: .sqlite, files: files(["0002_b.sql", "0001_a.sql"]), folder: "m")
        #expect(set.migrations.map(\.name) == ["a", "b"])
        #expect(set.migrations[0].path == "m/0001_a.sql")
    }

    @Test func refusesAGap() {
        #expect { try MigrationSet(dialect: .sqlite, files: files(["0001_a.sql", "0003_c.sql"]), folder: "m") } throws: { error in
            let message = (error as? StoreError)?.message ?? ""
            return message.contains("no migration numbered 0002") && message.contains("m/0003_c.sql")
        }
    }

    @Test func refusesADuplicateNumber() {
        #expect { try MigrationSet(dialect: .sqlite, files: files(["0001_a.sql", "0001_b.sql"]), folder: "m") } throws: { error in
            let message = (error as? StoreError)?.message ?? ""
            return message.contains("same number 1") && message.contains("0001_a.sql") && message.contains("0001_b.sql")
        }
    }

    @Test(arguments: ["1_a.sql", "0001-a.sql", "0001_.sql", "abcd_x.sql", "0000_zero.sql", "0001_a b.sql"])
    func refusesMalformedNames(name: String) {
        #expect(throws: StoreError.self) { try MigrationSet(dialect: .sqlite, files: files([name]), folder: "m") }
    }

    @Test func checksumIsSHA256OfTheFile() throws {
        let set = try MigrationSet(dialect: .sqlite, files: [MigrationFile(fileName: "0001_a.sql", sql: "abc")], folder: "m")
        #expect(set.migrations[0].checksum == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func dialectsMustMatch() throws {
        let sqlite = try MigrationSet(dialect: .sqlite, files: files(["0001_a.sql", "0002_b.sql"]), folder: "m")
        let postgres = try MigrationSet(dialect: .postgres, files: files(["0001_a.sql"]), folder: "m")
        #expect(throws: StoreError.self) { try MigrationSet.checkParallel([sqlite, postgres]) }
    }

    /// The embedded copy is the Migrations/ folder, byte for byte (`make generate` keeps it so).
    @Test func embeddedMatchesTheFolder() throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0] + "/Migrations"
        for dialect in SQLDialect.allCases {
            let embedded = try MigrationSet.embedded(for: dialect)
            let onDisk = try MigrationSet.load(root: root, dialect: dialect)
            #expect(embedded.migrations.map(\.checksum) == onDisk.migrations.map(\.checksum), "run make generate")
            #expect(!embedded.migrations.isEmpty)
        }
        try MigrationSet.checkParallel(SQLDialect.allCases.map { try MigrationSet.embedded(for: $0) })
    }
}
