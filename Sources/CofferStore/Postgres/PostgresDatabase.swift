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

        public init(connections: Int = 8, statementCacheSize: Int = 256) {
            self.connections = max(1, connections)
            self.statementCacheSize = max(1, statementCacheSize)
        }
    }

    public var dialect: SQLDialect { .postgres }
    public var backendDescription: String { "postgresql" }
    /// Where the pool connects, without the password.
    public let connectionString: PostgresConnectionString
    private let pool: ConnectionPool<PostgresConnection>
    private let threadPool: NIOThreadPool
    private let logger: Logger

    /// Connects one connection now so that a wrong URL or an unreachable server fails here, clearly.
    /// - Throws: ``StoreError`` `.invalidConfiguration` or `.connectionFailed`.
    public init(_ connectionString: PostgresConnectionString, configuration: Configuration = .init(), logger: Logger) async throws {
        self.connectionString = connectionString
        self.logger = logger
        let threadPool = StoreThreadPool.start(threads: configuration.connections)
        self.threadPool = threadPool
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
        do {
            return try await pool.withConnection { try body($0) }
        } catch StoreError.Code.connectionLost {
            // A read is safe to repeat; the broken connection is gone, and after a failover a new one
            // reaches the new primary (libpq's target_session_attrs).
            logger.info("connection lost during a read, retrying on a new connection")
            return try await pool.withConnection { try body($0) }
        }
    }

    public func transaction<T: Sendable>(
        _ options: TransactionOptions,
        _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T {
        try await withTransientRetry(maxAttempts: options.maxAttempts, logger: logger) {
            try await pool.withConnection { connection in
                try runTransaction(on: connection, begin: "BEGIN ISOLATION LEVEL \(options.isolation.rawValue)", body)
            }
        }
    }

    public func close() async {
        pool.close()
        try? await threadPool.shutdownGracefully()
    }
}
