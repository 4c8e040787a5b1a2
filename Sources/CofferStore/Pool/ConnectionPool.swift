import CofferFoundation
import NIOPosix

/// A connection owned by a ``ConnectionPool``.
///
/// Conforming classes wrap a C handle. They are `@unchecked Sendable` under one invariant: the pool
/// lends a connection to exactly one closure at a time, so its handle is never used from two threads at once.
protocol PooledConnection: AnyObject, Sendable {
    /// True once the connection can no longer be used (for instance the server closed it).
    var isBroken: Bool { get }
    /// Frees the C handle. Called once, by the pool.
    func close()
}

/// A bounded pool of blocking connections whose work runs on a dedicated thread pool.
///
/// Callers wait (without blocking a thread) when every connection is lent out. Connections are opened
/// lazily, up to `capacity`, and broken ones are dropped and replaced on demand.
final class ConnectionPool<Connection: PooledConnection>: Sendable {
    private struct State {
        var idle: [Connection] = []
        var open = 0
        var waiters: [CheckedContinuation<Connection, any Error>] = []
        var closed = false
    }

    private let capacity: Int
    private let threadPool: NIOThreadPool
    private let connect: @Sendable () throws -> Connection
    private let state = Locked(State())

    init(capacity: Int, threadPool: NIOThreadPool, connect: @escaping @Sendable () throws -> Connection) {
        self.capacity = max(1, capacity)
        self.threadPool = threadPool
        self.connect = connect
    }

    /// Lends a connection to `body`, which runs on the thread pool.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let connection = try await lease()
        do {
            let result = try await threadPool.runIfActive { try body(connection) }
            giveBack(connection)
            return result
        } catch {
            giveBack(connection)
            throw error
        }
    }

    /// Lends a connection to `body` on the calling thread, for short CPU-bound work (SQLite reads):
    /// it saves the two thread wake-ups of a hop to the pool, which cost more than the work itself.
    /// Waits without blocking when every connection is lent out.
    func withConnectionInline<T>(_ body: (Connection) throws -> T) async throws -> T {
        let connection = try await lease()
        defer { giveBack(connection) }
        return try body(connection)
    }

    /// Closes idle connections now and the lent ones when they come back; wakes every waiter with an error.
    func close() {
        let (idle, waiters) = state.withLock { state -> ([Connection], [CheckedContinuation<Connection, any Error>]) in
            state.closed = true
            defer {
                state.idle = []
                state.waiters = []
            }
            state.open -= state.idle.count
            return (state.idle, state.waiters)
        }
        idle.forEach { $0.close() }
        waiters.forEach { $0.resume(throwing: Self.closedError) }
    }

    private static var closedError: StoreError {
        StoreError(.closed, "the database has been closed")
    }

    private enum Returned {
        case handedOver(CheckedContinuation<Connection, any Error>)
        case kept
        case discard
    }

    private enum Next {
        case use(Connection)
        case open
        case wait
    }

    private func lease() async throws -> Connection {
        let next = try state.withLock { state -> Next in
            if state.closed { throw Self.closedError }
            if let connection = state.idle.popLast() { return .use(connection) }
            if state.open < capacity {
                state.open += 1
                return .open
            }
            return .wait
        }
        switch next {
        case .use(let connection):
            return connection
        case .open:
            do {
                return try await threadPool.runIfActive { [connect] in try connect() }
            } catch {
                state.withLock { $0.open -= 1 }
                throw error
            }
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                let closed = state.withLock { state -> Bool in
                    if state.closed { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if closed { continuation.resume(throwing: Self.closedError) }
            }
        }
    }

    private func giveBack(_ connection: Connection) {
        let outcome = state.withLock { state -> Returned in
            if state.closed || connection.isBroken {
                state.open -= 1
                return .discard
            }
            if !state.waiters.isEmpty { return .handedOver(state.waiters.removeFirst()) }
            state.idle.append(connection)
            return .kept
        }
        switch outcome {
        case .handedOver(let waiter):
            waiter.resume(returning: connection)
        case .kept:
            break
        case .discard:
            connection.close()
            replaceForWaiter()
        }
    }

    /// After a broken connection is dropped, a waiter would otherwise wait for a connection that never
    /// comes back: open a fresh one for it.
    private func replaceForWaiter() {
        let waiter = state.withLock { state -> CheckedContinuation<Connection, any Error>? in
            guard !state.closed, !state.waiters.isEmpty, state.open < capacity else { return nil }
            state.open += 1
            return state.waiters.removeFirst()
        }
        guard let waiter else { return }
        threadPool.submit { [connect, weak self] _ in
            do {
                waiter.resume(returning: try connect())
            } catch {
                self?.state.withLock { $0.open -= 1 }
                waiter.resume(throwing: error)
            }
        }
    }
}
