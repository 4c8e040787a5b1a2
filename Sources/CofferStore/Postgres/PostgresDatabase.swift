import CofferFoundation
public import Logging
import NIOPosix

/// The PostgreSQL backend over libpq: a bounded pool of connections shared by every Coffer module.
///
/// Several Coffer instances may share one database; anything that must hold across instances uses
/// row or advisory locks inside a ``Database/transaction(_:_:)``.
public final class PostgresDatabase: Database {
    /// How the PostgreSQL backend is opened.
    public struct Configuration: Sendable {
        /// Connections in the pool, opened on demand.
        public var connections: Int
        /// Prepared statements kept per connection.
        public var statementCacheSize: Int
        /// Whether statements are prepared once per connection and kept (named server-side statements).
        /// Off, each statement is sent with its text every time (libpq's unnamed statement): what a
        /// transaction-mode pooler such as PgBouncer before 1.21 needs, since it may hand consecutive
        /// transactions to different server connections, where a named statement does not exist.
        public var preparedStatements: Bool

        public init(connections: Int = 8, statementCacheSize: Int = 256, preparedStatements: Bool = true) {
            self.connections = max(1, connections)
            self.statementCacheSize = max(1, statementCacheSize)
            self.preparedStatements = preparedStatements
        }
    }

    public var dialect: SQLDialect { .postgres }
    public var backendDescription: String { "postgresql" }
    /// Where the pool connects, without the password.
    public let connectionString: PostgresConnectionString
    private let pool: ConnectionPool<PostgresConnection>
    private let capacity: Int
    private let newestCommit = Locked<WALPosition?>(nil)
    private let threadPool: NIOThreadPool
    private let logger: Logger

    /// Connects one connection now so that a wrong URL or an unreachable server fails here, clearly.
    /// - Throws: ``StoreError`` `.invalidConfiguration` or `.connectionFailed`.
    public init(_ connectionString: PostgresConnectionString, configuration: Configuration = .init(), logger: Logger) async throws {
        self.connectionString = connectionString
        self.logger = logger
        let threadPool = StoreThreadPool.start(threads: configuration.connections)
        self.threadPool = threadPool
        self.capacity = configuration.connections
        let conninfo = connectionString.conninfo
        pool = ConnectionPool(capacity: configuration.connections, threadPool: threadPool) {
            try PostgresConnection(conninfo: conninfo, configuration: configuration)
        }
        do {
            try await pool.withConnection { _ in }
        } catch {
            pool.close()
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await onLiveConnection { connection in
            do {
                return try body(connection)
            } catch let error as StoreError where error.code == .connectionLost {
                // A read is safe to repeat whole.
                throw LostBeforeBegin(underlying: error)
            }
        }
    }

    public func transaction<T: Sendable>(
        _ options: TransactionOptions,
        _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T {
        try await withTransientRetry(maxAttempts: options.maxAttempts, logger: logger) {
            try await onLiveConnection { connection in
                try runTransaction(
                    on: connection, begin: "BEGIN ISOLATION LEVEL \(options.isolation.rawValue)",
                    commit: { connection in
                        guard let position = try connection.commitReportingPosition() else { return }
                        self.newestCommit.withLock { $0 = max($0 ?? position, position) }
                    }, body)
            }
        }
    }

    /// Runs `body` on a pooled connection, again on another one when it throws ``LostBeforeBegin``: after a
    /// server restart or a failover every idle connection is dead, and each is found so only when used (a
    /// broken one is dropped by the pool, and a new one reaches the new primary through libpq's
    /// `target_session_attrs`). Bounded by the pool's size plus one: by then a connection was opened anew,
    /// and its failure is the server's state, answered as it is.
    private func onLiveConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        for attempt in 1... {
            do {
                return try await pool.withConnection(body)
            } catch let lost as LostBeforeBegin {
                guard attempt <= capacity else { throw lost.underlying }
                logger.info(
                    "a pooled connection to PostgreSQL was lost; retrying on another", metadata: ["coffer.store.attempt": "\(attempt)"])
            }
        }
        fatalError("unreachable: the loop returns or throws")
    }

    /// The WAL position after the newest commit this pool has made, read with each COMMIT in its round trip:
    /// once a change's transaction has returned, this is at or after its commit record, so it serves as the
    /// change's consistency index without a query of its own. `nil` before the first commit.
    public var newestCommitPosition: WALPosition? { newestCommit.withLock { $0 } }

    /// How far this server has replayed the primary's WAL: a standby's replay position, or, once promoted
    /// (or when it never was a standby), its own insert position, since it then holds everything.
    public func replayedPosition() async throws -> WALPosition? {
        try await read { conn in
            try conn.queryScalar(
                String.self,
                "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text"
            ).flatMap { WALPosition($0) }
        }
    }

    /// Whether this server is a standby (`pg_is_in_recovery()`).
    public func isStandby() async throws -> Bool {
        try await read { conn in try conn.queryScalar(Bool.self, "SELECT pg_is_in_recovery()") ?? false }
    }

    public func close() async {
        pool.close()
        try? await threadPool.shutdownGracefully()
    }
}
