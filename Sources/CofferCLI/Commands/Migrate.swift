import ArgumentParser
import CofferServer
import CofferStore
import Foundation
import Logging

/// `coffer migrate [up|status]`: apply or inspect the schema without starting the service.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending schema migrations, or show where the schema stands.",
        subcommands: [Up.self, MigrationStatus.self],
        defaultSubcommand: Up.self
    )

    struct Source: ParsableArguments {
        @Option(name: .long, help: "Read migrations from this folder (with sqlite/ and postgres/ inside) instead of the built-in copy.")
        var migrations: String?

        func load(for dialect: SQLDialect) throws -> MigrationSet {
            guard let root = migrations else { return try .embedded(for: dialect) }
            let sets = try SQLDialect.allCases.map { try MigrationSet.load(root: root, dialect: $0) }
            try MigrationSet.checkParallel(sets)
            return try MigrationSet.load(root: root, dialect: dialect)
        }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "up", abstract: "Apply every pending migration.")

        @OptionGroup var options: DatabaseOptions
        @OptionGroup var source: Source

        func run() async throws {
            try await withMigrator(options, source) { migrator, configuration in
                let applied = try await migrator.migrate()
                let status = try await migrator.status()
                print(applied.isEmpty ? "No pending migrations." : applied.map { "Applied \($0.path)" }.joined(separator: "\n"))
                print("Schema at \(status.applied.last.map { $0.label } ?? "nothing") on \(configuration.database).")
            }
        }
    }

    struct MigrationStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "List applied and pending migrations.")

        @OptionGroup var options: DatabaseOptions
        @OptionGroup var source: Source

        func run() async throws {
            try await withMigrator(options, source) { migrator, configuration in
                let status = try await migrator.status()
                print("Database: \(configuration.database)")
                for applied in status.applied {
                    print("applied  \(applied.label)  \(applied.appliedAt.formatted(.iso8601))")
                }
                for pending in status.pending { print("pending  \(pending.label)") }
                print(status.isCurrent ? "Schema is current." : "\(status.pending.count) migration(s) pending: run coffer migrate.")
                if !status.isCurrent { throw ExitCode(3) }
            }
        }
    }
}

/// Opens the configured database, hands a migrator to `body`, and closes the database whatever happens.
private func withMigrator(
    _ options: DatabaseOptions, _ source: Migrate.Source, _ body: (Migrator, ServerConfiguration) async throws -> Void
) async throws {
    let configuration = try options.resolve()
    let logger = LoggingSetup.bootstrap(configuration)
    let database = try await configuration.database.open(logger: logger)
    do {
        try await body(Migrator(database: database, migrations: try source.load(for: database.dialect), logger: logger), configuration)
        await database.close()
    } catch {
        await database.close()
        throw error
    }
}
