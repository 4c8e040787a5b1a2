#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value behind a `pthread_mutex_t`, reached only inside ``withLock(_:)``: Coffer's one lock.
///
/// Why not the standard library's `Synchronization.Mutex`: on Linux its lock and unlock run inside the
/// uninstrumented `libswiftSynchronization`, so ThreadSanitizer sees no ordering between two critical
/// sections and reports every contended one as a race (reproduced outside Coffer: four threads adding 1
/// under one `Mutex` 200,000 times each end at exactly 800,000, with two reports). ThreadSanitizer
/// intercepts `pthread_mutex_lock`, so with this lock `make test-tsan` reports only real races. The cost is
/// one allocation per lock (locks are made once, with their owner) and about 30 ns more per uncontended
/// `withLock` than `Mutex` (measured: Docs/RELIABILITY.md, "Sanitizers").
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only read or written between lock and unlock of `mutex`, as
    // `Synchronization.Mutex` guarantees for its value.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline var value: Value

    /// A lock guarding `value`.
    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value while holding the lock; the lock is released however `body` ends.
    @inlinable
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body(&value)
    }

    @usableFromInline
    func lock() {
        let status = pthread_mutex_lock(mutex)
        precondition(status == 0, "pthread_mutex_lock failed: \(status)")
    }

    @usableFromInline
    func unlock() {
        let status = pthread_mutex_unlock(mutex)
        precondition(status == 0, "pthread_mutex_unlock failed: \(status)")
    }
}
