import CofferFoundation
public import Logging

/// A PostgreSQL primary with a streaming standby near this instance: reads a request may take from the standby
/// (``ReplicaRead/current``) go there once it has replayed far enough; everything else, every transaction
/// (audit entries included: a read is answered only once its entry is durable on the primary) and every read
/// without that permission, goes to the primary.
///
/// A read that asks for a position the standby has not replayed waits for it, polling, up to `waitBound`; then
/// it is served by the primary instead (never stale, never refused). A standby that cannot be reached is
/// skipped the same way, and left alone for a second before it is tried again. The newest position seen
/// replayed is kept, so a read whose position is already covered costs no extra round trip.
public final class ReplicaRoutedDatabase: Database {
    /// Counts of where reads went, for health reports, benchmarks and tests.
    public struct Counts: Sendable, Equatable {
        /// Reads the standby served.
        public var replica = 0
        /// Reads whose position was not yet known replayed: the standby was asked (and had replayed it, at
        /// once or after a wait) before it served them.
        public var checked = 0
        /// Reads sent to the primary because the standby was behind after the wait, or unreachable.
        public var fellBack = 0
        /// Times the standby could not be reached (then it is left alone for ``standbyRetryInterval``).
        public var unreachable = 0
    }

    private struct State {
        var replayed: WALPosition?
        var newestLocalWrite: WALPosition?
        /// Set when the standby could not be reached: until then reads go straight to the primary, so a standby
        /// that is down costs one failed attempt a second, not one per read (each as long as `connect_timeout`).
        var skipStandbyUntil: ContinuousClock.Instant?
        var counts = Counts()
    }

    /// How long an unreachable standby is left alone before it is tried again.
    public static let standbyRetryInterval = Duration.seconds(1)

    public let primary: PostgresDatabase
    public let replica: PostgresDatabase
    private let waitBound: Duration
    private let logger: Logger
    private let state = Locked(State())

    public var dialect: SQLDialect { .postgres }
    public var backendDescription: String { "postgresql (reads from a standby)" }

    /// - Parameter waitBound: how long a read waits for the standby to replay the position it needs.
    public init(primary: PostgresDatabase, replica: PostgresDatabase, waitBound: Duration = .seconds(2), logger: Logger) {
        self.primary = primary
        self.replica = replica
        self.waitBound = waitBound
        self.logger = logger
    }

    public var counts: Counts { state.withLock { $0.counts } }

    /// Records a write this instance committed (its answer's consistency index): later reads on this instance
    /// need the standby at least there, so a client sees its own writes here without presenting the index.
    public func noteLocalWrite(_ position: WALPosition) {
        state.withLock { $0.newestLocalWrite = max($0.newestLocalWrite ?? position, position) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        guard let permission = ReplicaRead.current else { return try await primary.read(body) }
        let (needed, skipping) = state.withLock { state in
            (
                [permission.atLeast, state.newestLocalWrite].compactMap { $0 }.max(),
                state.skipStandbyUntil.map { ContinuousClock.now < $0 } ?? false
            )
        }
        guard !skipping, await standbyHasReplayed(needed) else {
            state.withLock { $0.counts.fellBack += 1 }
            return try await primary.read(body)
        }
        do {
            let result = try await replica.read(body)
            state.withLock { $0.counts.replica += 1 }
            return result
        } catch let error as StoreError where error.code.isUnavailable {
            standbyUnreachable(error)
            state.withLock { $0.counts.fellBack += 1 }
            return try await primary.read(body)
        }
    }

    private func standbyUnreachable(_ error: StoreError) {
        logger.warning(
            "the standby cannot be read; reading the primary for a while", metadata: ["coffer.store.code": "\(error.code)"])
        state.withLock { state in
            state.counts.unreachable += 1
            state.skipStandbyUntil = ContinuousClock.now + Self.standbyRetryInterval
        }
    }

    public func transaction<T: Sendable>(
        _ options: TransactionOptions, _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T {
        try await primary.transaction(options, body)
    }

    public func close() async {
        await replica.close()
        await primary.close()
    }

    /// Whether the standby has replayed `position` (waiting up to the bound); `true` when nothing is needed.
    private func standbyHasReplayed(_ position: WALPosition?) async -> Bool {
        guard let position else { return true }
        if let replayed = state.withLock({ $0.replayed }), replayed >= position { return true }
        let deadline = ContinuousClock.now + waitBound
        var pause = Duration.milliseconds(1)
        while true {
            let replayed: WALPosition
            do {
                guard let position = try await replica.replayedPosition() else { return false }
                replayed = position
            } catch let error as StoreError where error.code.isUnavailable {
                standbyUnreachable(error)
                return false
            } catch {
                return false
            }
            state.withLock { $0.replayed = max($0.replayed ?? replayed, replayed) }
            if replayed >= position {
                state.withLock { $0.counts.checked += 1 }
                return true
            }
            guard ContinuousClock.now + pause < deadline else { return false }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(20))
        }
    }
}
