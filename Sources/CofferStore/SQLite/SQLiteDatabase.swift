import CofferFoundation
import CSQLite
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
public import Logging
import NIOPosix

/// The embedded SQLite backend: one writer connection and a pool of readers over one WAL-mode file.
///
/// The folder holding the file is created with mode 0700 and the file with mode 0600, because the
/// database holds ciphertext, key-check values and the audit trail that only Coffer should read.
public final class SQLiteDatabase: Database {
    /// How the SQLite backend is opened.
    public struct Configuration: Sendable {
        /// `PRAGMA synchronous` level. `full` survives power loss at the cost of an fsync per commit.
        public enum Synchronous: String, Sendable {
            case normal = "NORMAL"
            case full = "FULL"
        }

        /// Reader connections for concurrent reads.
        public var readers: Int
        /// How long a connection waits for another process's lock before failing with `.busy`.
        public var busyTimeoutMilliseconds: Int
        /// Prepared statements kept per connection.
        public var statementCacheSize: Int
        public var synchronous: Synchronous
        /// Run reads on the calling task's thread instead of the store's thread pool. A WAL read is
        /// local CPU work of microseconds that never waits for a writer, and the hop to a pool thread
        /// costs about ten times a point read (Docs/BENCHMARKS.md). Turn it off if the application runs
        /// long scans, which would then occupy a cooperative thread. Writes always hop: a commit waits for fsync.
        public var inlineReads: Bool

        public init(
            readers: Int = 4, busyTimeoutMilliseconds: Int = 5_000, statementCacheSize: Int = 128,
            synchronous: Synchronous = .full, inlineReads: Bool = true
        ) {
            self.readers = max(1, readers)
            self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
            self.statementCacheSize = max(1, statementCacheSize)
            self.synchronous = synchronous
            self.inlineReads = inlineReads
        }
    }

    public let path: String
    public var dialect: SQLDialect { .sqlite }
    public var backendDescription: String { "sqlite" }
    private let writer: ConnectionPool<SQLiteConnection>
    private let readers: ConnectionPool<SQLiteConnection>
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let inlineReads: Bool

    /// Opens (creating when missing) the database file at `path`.
    /// - Throws: ``StoreError`` `.cannotOpen` with what to do when the folder or file cannot be used.
    public init(path: String, configuration: Configuration = .init(), logger: Logger) async throws {
        self.path = path
        self.logger = logger
        self.inlineReads = configuration.inlineReads
        try Self.prepareFile(at: path)
        let threadPool = StoreThreadPool.start(threads: configuration.readers + 1)
        self.threadPool = threadPool
        writer = ConnectionPool(capacity: 1, threadPool: threadPool) {
            try SQLiteConnection(path: path, readOnly: false, configuration: configuration)
        }
        readers = ConnectionPool(capacity: configuration.readers, threadPool: threadPool) {
            try SQLiteConnection(path: path, readOnly: true, configuration: configuration)
        }
        do {
            // Open the writer now: it turns WAL on before any reader opens, and bad paths fail here.
            try await writer.withConnection { _ in }
        } catch {
            writer.close()
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        if inlineReads {
            return try await readers.withConnectionInline { try body($0) }
        }
        return try await readers.withConnection { try body($0) }
    }

    public func transaction<T: Sendable>(
        _ options: TransactionOptions,
        _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T {
        try await withTransientRetry(maxAttempts: options.maxAttempts, logger: logger) {
            try await writer.withConnection { connection in
                // IMMEDIATE takes the write lock up front, so a conflict shows as BUSY here, before any work.
                // (A file has no connection to lose; should one be reported, it is answered as it is.)
                do {
                    return try runTransaction(on: connection, begin: "BEGIN IMMEDIATE", body)
                } catch let lost as LostBeforeBegin {
                    throw lost.underlying
                }
            }
        }
    }

    /// Writes a consistent snapshot of the database to a new file at `destination` (mode 0600) while the
    /// database stays in use: SQLite's online backup API over one read transaction. Returns the pages copied.
    /// - Throws: ``StoreError`` `.cannotOpen` when `destination` exists or cannot be created.
    public func backup(to destination: String) async throws -> Int {
        guard access(destination, F_OK) != 0 else {
            throw StoreError(.cannotOpen, "\(destination) already exists: choose a new file for the backup")
        }
        let descriptor = open(destination, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.cannotOpen, "cannot create the backup file \(destination): check the folder and its permissions")
        }
        closeDescriptor(descriptor)
        do {
            return try await readers.withConnection { try $0.backup(to: destination) }
        } catch {
            unlink(destination)
            throw error
        }
    }

    private func closeDescriptor(_ descriptor: Int32) {
        #if canImport(Glibc)
            _ = Glibc.close(descriptor)
        #else
            _ = Darwin.close(descriptor)
        #endif
    }

    public func close() async {
        // Readers first: the last connection to close checkpoints the WAL, and only the writer can.
        readers.close()
        writer.close()
        try? await threadPool.shutdownGracefully()
    }

    /// Creates the folder (0700) and the file (0600) when missing, and explains what to do when it cannot.
    static func prepareFile(at path: String) throws {
        let folder = parentFolder(of: path)
        try createFolder(folder)
        guard access(folder, W_OK | X_OK) == 0 else {
            throw StoreError(
                .cannotOpen, "the data folder \(folder) is not writable: fix its permissions or choose another with --database sqlite:PATH"
            )
        }
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if fd >= 0 {
            _ = Glibc.close(fd)
        } else if errno != EEXIST {
            throw StoreError(
                .cannotOpen, "cannot create the database file \(path): \(String(cString: strerror(errno))); check the data folder"
            )
        }
    }

    private static func parentFolder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = String(path[..<slash])
        return folder.isEmpty ? "/" : folder
    }

    /// `mkdir -p` with mode 0700 for every folder it creates.
    private static func createFolder(_ folder: String) throws {
        var info = stat()
        if stat(folder, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw StoreError(.cannotOpen, "\(folder) is not a folder: choose a data folder with --database sqlite:PATH")
            }
            return
        }
        let parent = parentFolder(of: folder)
        if parent != folder { try createFolder(parent) }
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            throw StoreError(
                .cannotOpen,
                """
                cannot create the data folder \(folder): \(String(cString: strerror(errno))); create it or choose another with \
                --database sqlite:PATH
                """
            )
        }
    }
}
