import CofferFoundation
import Foundation

/// The ordered migrations of one dialect, checked for well-formed names, duplicates and gaps.
public struct MigrationSet: Sendable {
    public let dialect: SQLDialect
    /// Numbered 1, 2, 3… with no gap.
    public let migrations: [Migration]

    /// Validates `files` as the migrations of `dialect`.
    /// - Parameter folder: how to name the files in errors, e.g. `Migrations/sqlite`.
    /// - Throws: ``StoreError`` `.migration` naming the file and what to do.
    public init(dialect: SQLDialect, files: [MigrationFile], folder: String) throws {
        var byNumber: [Int: Migration] = [:]
        for file in files {
            let path = "\(folder)/\(file.fileName)"
            guard let (number, name) = Self.parse(fileName: file.fileName) else {
                throw StoreError(
                    .migration, "\(path): a migration file must be named NNNN_name.sql (four digits, then letters, digits or _)"
                )
            }
            if let other = byNumber[number] {
                throw StoreError(
                    .migration, "\(path) and \(other.path) have the same number \(number): renumber one of them"
                )
            }
            byNumber[number] = Migration(number: number, name: name, sql: file.sql, path: path)
        }
        let ordered = byNumber.keys.sorted().compactMap { byNumber[$0] }
        for (index, migration) in ordered.enumerated() where migration.number != index + 1 {
            throw StoreError(
                .migration,
                """
                \(folder) has no migration numbered \(migrationNumber(index + 1)) before \(migration.path): numbers must run \
                0001, 0002, … with no gap
                """
            )
        }
        self.dialect = dialect
        self.migrations = ordered
    }

    /// The migrations compiled into this binary.
    public static func embedded(for dialect: SQLDialect) throws -> MigrationSet {
        try MigrationSet(dialect: dialect, files: embeddedFiles[dialect] ?? [], folder: "Migrations/\(dialect.rawValue)")
    }

    /// Reads `root/<dialect>/*.sql` from disk (for developing migrations without a rebuild).
    /// - Throws: ``StoreError`` `.migration` when the folder cannot be read or a file is misnamed.
    public static func load(root: String, dialect: SQLDialect) throws -> MigrationSet {
        let folder = "\(root)/\(dialect.rawValue)"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            throw StoreError(.migration, "cannot read the migration folder \(folder): check --migrations")
        }
        let files = try names.filter { $0.hasSuffix(".sql") }.map { name in
            guard let data = FileManager.default.contents(atPath: "\(folder)/\(name)") else {
                throw StoreError(.migration, "cannot read \(folder)/\(name): check its permissions")
            }
            return MigrationFile(fileName: name, sql: String(decoding: data, as: UTF8.self))
        }
        return try MigrationSet(dialect: dialect, files: files, folder: folder)
    }

    /// Checks that two dialects' sets have the same numbers and names, as the design requires.
    public static func checkParallel(_ sets: [MigrationSet]) throws {
        guard let first = sets.first else { return }
        for other in sets.dropFirst() {
            let left = first.migrations.map { "\($0.number)_\($0.name)" }
            let right = other.migrations.map { "\($0.number)_\($0.name)" }
            if left != right {
                let missing = Set(left).symmetricDifference(right).sorted().first ?? "?"
                throw StoreError(
                    .migration,
                    """
                    Migrations/\(first.dialect.rawValue) and Migrations/\(other.dialect.rawValue) differ at \(missing): every \
                    migration needs a file of the same number and name in both
                    """
                )
            }
        }
    }

    static func parse(fileName: String) -> (Int, String)? {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(4)
        let digits = stem.prefix(4)
        guard digits.count == 4, digits.allSatisfy(\.isASCIIDigit), let number = Int(digits), number > 0 else { return nil }
        let rest = stem.dropFirst(4)
        guard rest.first == "_", rest.count > 1,
            rest.dropFirst().allSatisfy({ $0.isASCIIDigit || $0 == "_" || ($0.isASCII && $0.isLetter) })
        else { return nil }
        return (number, String(rest.dropFirst()))
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// `7` as `0007`, the way migration files are numbered.
func migrationNumber(_ number: Int) -> String {
    let digits = String(number)
    return String(repeating: "0", count: Swift.max(0, 4 - digits.count)) + digits
}
