public import CofferStore
import Foundation
public import Logging

/// The backends the contract tests run against.
public enum TestBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }
}

/// Throwaway databases for tests: a SQLite file in a new temporary folder, or a new schema on the
/// real PostgreSQL server named by `COFFER_TEST_POSTGRES_URL` (which `.ci/run` starts).
public enum TestDatabase {
    /// The environment variable holding the PostgreSQL URL for tests.
    public static let postgresVariable = "COFFER_TEST_POSTGRES_URL"

    /// The server URL, when configured.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment[postgresVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// True under CI, where a PostgreSQL test that cannot run is a failure, not a skip.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether PostgreSQL tests should run: when a server is configured, and always under CI (where
    /// a missing server then fails loudly instead of skipping).
    public static let runsPostgres: Bool = {
        if postgresURL == nil && !isCI {
            FileHandle.standardError.write(
                Data("WARNING: PostgreSQL tests SKIPPED: set \(postgresVariable) to a server URL to run them (.ci/run does).\n".utf8))
            return false
        }
        return true
    }()

    /// The backends a test runs against: SQLite always, PostgreSQL when ``runsPostgres``. Contract tests take
    /// these as `@Test(arguments: TestDatabase.backends)`, so one test body covers every backend.
    public static var backends: [TestBackend] { runsPostgres ? [.sqlite, .postgres] : [.sqlite] }

    /// A logger for tests that keeps quiet unless something is wrong.
    public static let logger: Logger = {
        var logger = Logger(label: "coffer.test")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a fresh, empty database of `backend`, then removes it.
    public static func with<T: Sendable>(_ backend: TestBackend, _ body: (any Database) async throws -> T) async throws -> T {
        let location = try await create(backend)
        let database = try await location.location.open(logger: logger)
        do {
            let result = try await body(database)
            await database.close()
            try await location.drop()
            return result
        } catch {
            await database.close()
            try? await location.drop()
            throw error
        }
    }

    /// A fresh location (not yet opened), and how to remove it.
    public struct Scratch: Sendable {
        public let location: DatabaseLocation
        /// The URL form, for passing to a `coffer` process.
        public let url: String
        let dropAction: @Sendable () async throws -> Void

        public func drop() async throws { try await dropAction() }
    }

    /// Creates an empty database of `backend` without opening it.
    public static func create(_ backend: TestBackend) async throws -> Scratch {
        switch backend {
        case .sqlite:
            let folder = try temporaryFolder()
            let url = "sqlite:\(folder)/coffer.db"
            return Scratch(location: try DatabaseLocation(parsing: url), url: url) {
                try? FileManager.default.removeItem(atPath: folder)
            }
        case .postgres:
            guard let base = postgresURL else {
                throw TestSetupError("CI=true but \(postgresVariable) is not set: PostgreSQL tests cannot be skipped under CI")
            }
            let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let admin = try await PostgresDatabase(PostgresConnectionString(base), configuration: .init(connections: 1), logger: logger)
            try await admin.transaction { try $0.executeScript(unsafeSQL: "CREATE SCHEMA \(schema)") }
            await admin.close()
            let separator = base.contains("?") ? "&" : "?"
            let url = base + separator + "options=-c%20search_path%3D\(schema)"
            return Scratch(location: try DatabaseLocation(parsing: url), url: url) {
                let admin = try await PostgresDatabase(PostgresConnectionString(base), configuration: .init(connections: 1), logger: logger)
                try await admin.transaction { try $0.executeScript(unsafeSQL: "DROP SCHEMA \(schema) CASCADE") }
                await admin.close()
            }
        }
    }

    /// A new private temporary folder.
    public static func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }
}

/// A test environment that cannot be set up.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A Python interpreter with PyNaCl and hvac (from PyPI), from `COFFER_TEST_PYTHON`: the independent
/// implementations the crypto vectors and the Vault-client compatibility are checked against. `make test`
/// makes one in `.venv`.
public enum TestPython {
    public static var path: String? {
        ProcessInfo.processInfo.environment["COFFER_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether the Python checks run: when an interpreter is configured, and always under CI (where a
    /// missing one then fails loudly instead of skipping).
    public static let available: Bool = {
        if path == nil && !TestDatabase.isCI {
            FileHandle.standardError.write(Data("WARNING: PyNaCl and hvac checks SKIPPED: set COFFER_TEST_PYTHON (make test does).\n".utf8))
            return false
        }
        return true
    }()
}
