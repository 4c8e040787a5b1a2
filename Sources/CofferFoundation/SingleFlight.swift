/// One load per key at a time: callers that miss while a load of their key is running wait for that
/// load's result instead of starting their own (no stampede on the table when a hot key expires).
public final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    public init() {}

    private let running = Locked<[Key: Task<Value, any Error>]>([:])

    /// `load`'s result, shared with every caller that asked for `key` while it ran.
    public func run(_ key: Key, _ load: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let (task, leads) = running.withLock { running -> (Task<Value, any Error>, Bool) in
            if let task = running[key] { return (task, false) }
            let task = Task { try await load() }
            running[key] = task
            return (task, true)
        }
        if leads {
            // Removed whether the load succeeds or fails, so the next miss loads again.
            defer { _ = running.withLock { $0.removeValue(forKey: key) } }
            return try await task.value
        }
        return try await task.value
    }
}
