import CofferFoundation
import Logging

/// The one SQL interface every Coffer module uses, over SQLite or PostgreSQL.
///
/// Work is handed to a connection in a closure that runs on the store's own thread pool, so blocking
/// C calls never occupy Swift's cooperative threads.
///
/// ```swift
/// let db = try await DatabaseFactory.open(DatabaseLocation(parsing: "sqlite:./coffer-data/coffer.db"))
/// try await db.transaction { conn in
///     try conn.execute("INSERT INTO notes (id, body) VALUES (\(id), \(body))")
/// }
/// let count = try await db.read { conn in try conn.queryScalar(Int.self, "SELECT count(*) FROM notes") }
/// ```
public protocol Database: Sendable {
    /// The SQL dialect this database speaks.
    var dialect: SQLDialect { get }

    /// A description of the backend for health reports and start-up logs, without any password.
    var backendDescription: String { get }

    /// Lends a connection for reading. On SQLite this is one of the pooled readers, which see the
    /// last committed state; no transaction is opened unless the closure opens one.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    ///
    /// When the database reports a transient conflict (SQLITE_BUSY, a serialization failure or a
    /// deadlock), the transaction is rolled back and `body` runs again, up to
    /// ``TransactionOptions/maxAttempts`` times. `body` must therefore have no effects outside the
    /// database.
    func transaction<T: Sendable>(
        _ options: TransactionOptions,
        _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T

    /// Closes every connection. Later calls fail with `StoreError.Code.closed`.
    func close() async
}

/// How ``Database/transaction(_:_:)`` runs.
public struct TransactionOptions: Sendable {
    /// PostgreSQL isolation level; SQLite transactions are always serializable.
    public enum Isolation: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    public var isolation: Isolation
    /// How many times the whole transaction may run when it hits a transient conflict.
    public var maxAttempts: Int

    public init(isolation: Isolation = .readCommitted, maxAttempts: Int = 8) {
        self.isolation = isolation
        self.maxAttempts = max(1, maxAttempts)
    }
}

extension Database {
    /// Runs `body` in one read-committed transaction with the default retry policy.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await transaction(TransactionOptions(), body)
    }

    /// Runs one statement in its own transaction.
    @discardableResult
    public func execute(_ query: SQLQuery) async throws -> Int {
        try await transaction { try $0.execute(query) }
    }

    /// Deletes in transactions of at most `batch` rows until a statement deletes fewer: `statement(limit)` is a
    /// `DELETE … WHERE id IN (SELECT id … LIMIT limit)` of the caller's table. Short transactions, so a prune
    /// of millions of rows never holds SQLite's writer or PostgreSQL's locks for long. Returns the rows deleted.
    public func deleteInBatches(batch: Int = 1_000, _ statement: @escaping @Sendable (Int64) -> SQLQuery) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await transaction { try $0.execute(statement(Int64(batch))) }
            total += deleted
            if deleted < batch { return total }
        }
    }

    /// Runs `body` on a reader in one read-only transaction, so every statement in it sees the same committed
    /// state (PostgreSQL: repeatable read; SQLite: one read transaction of its WAL). For answers built from two
    /// tables a concurrent transaction moves rows between (metric rollups and the points pending for them).
    public func snapshot<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await read { conn in
            let begin: SQLQuery = conn.dialect == .postgres ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN"
            try conn.execute(begin)
            do {
                let result = try body(conn)
                try conn.execute("COMMIT")
                return result
            } catch {
                _ = try? conn.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Runs one query on a reader and returns its rows.
    public func query(_ query: SQLQuery) async throws -> [SQLRow] {
        try await read { try $0.query(query) }
    }
}

/// One transaction on a lent connection, shared by both drivers: `begin`, the body, then `commit` (a COMMIT; the
/// PostgreSQL driver's also reads the WAL position in the same round trip); on any error a ROLLBACK (unless the
/// connection is gone) and the error rethrown.
/// - Throws: ``LostBeforeBegin`` when the connection was already gone at `begin` (nothing ran: safe to run
///   again on another connection); otherwise the body's or the driver's error.
func runTransaction<C: SQLConnection & PooledConnection, T>(
    on connection: C, begin: String, commit: (C) throws -> Void = { try $0.executeScript(unsafeSQL: "COMMIT") },
    _ body: (any SQLConnection) throws -> T
) throws -> T {
    do {
        try connection.executeScript(unsafeSQL: begin)
    } catch let error as StoreError where error.code == .connectionLost {
        throw LostBeforeBegin(underlying: error)
    }
    do {
        let result = try body(connection)
        try commit(connection)
        return result
    } catch {
        if !connection.isBroken { try? connection.executeScript(unsafeSQL: "ROLLBACK") }
        throw error
    }
}

/// A pooled connection found dead at BEGIN (its server restarted, or failed over to a standby since it was
/// last used): nothing of the transaction reached the server, so it runs again on another connection.
struct LostBeforeBegin: Error {
    let underlying: StoreError
}

/// The retry loop shared by both drivers: rerun on transient conflicts with jittered exponential backoff.
func withTransientRetry<T>(
    maxAttempts: Int,
    logger: Logger,
    _ attempt: () async throws -> T
) async throws -> T {
    var delay: UInt64 = 2_000_000 // 2 ms
    for number in 1... {
        do {
            return try await attempt()
        } catch let error as StoreError where error.code.isTransient && number < maxAttempts {
            logger.debug(
                "transaction conflict, retrying",
                metadata: ["coffer.store.attempt": "\(number)", "coffer.store.code": "\(error.code)"]
            )
            try await Task.sleep(nanoseconds: UInt64.random(in: delay / 2...delay))
            delay = min(delay * 2, 200_000_000)
        }
    }
    fatalError("unreachable: the loop returns or throws")
}
