import ArgumentParser
import CofferServer
import CofferStore
import Foundation

extension Operator {
    /// `coffer operator backup FILE`: a consistent online snapshot of a SQLite database, taken while the service
    /// runs. It holds only what the database holds: ciphertext under the keyring, keyed hashes of tokens, and
    /// the sealed keyring, so restoring it needs the original unseal shares (or passphrase or key file).
    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent online snapshot of the SQLite database to a new file (PostgreSQL: see Docs/OPERATIONS.md).")
        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The new backup file (it must not exist; created with mode 0600).") var file: String

        func run() async throws {
            let configuration = try options.resolve()
            let logger = LoggingSetup.bootstrap(configuration)
            let database = try await configuration.database.open(logger: logger)
            guard let sqlite = database as? SQLiteDatabase else {
                await database.close()
                throw ClientError(
                    """
                    \(configuration.database) is PostgreSQL: back it up with pg_dump --format=custom (or a base backup with \
                    pg_basebackup), as Docs/OPERATIONS.md shows; Coffer's tables hold only ciphertext and hashes
                    """)
            }
            let started = ContinuousClock.now
            do {
                let pages = try await sqlite.backup(to: file)
                await database.close()
                let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
                print("Backup written to \(file): \(pages) pages, \(size) bytes, in \(started.duration(to: .now)).")
                print(
                    """
                    Restore: stop the service, put the file in place of \(sqlite.path) (removing any -wal and -shm files beside \
                    it), start, and unseal with the original keys.
                    """
                )
            } catch {
                await database.close()
                throw error
            }
        }
    }
}
