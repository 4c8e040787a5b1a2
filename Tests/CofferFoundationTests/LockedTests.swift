import CofferFoundation
import Foundation
import Testing

/// `Locked` is the lock behind every shared table in Coffer (the audit queue, the connection pool, guarded
/// memory's free lists): a lost update under contention would corrupt them silently.
@Suite struct LockedTests {
    @Test func noUpdateIsLostUnderContention() {
        let counter = Locked((total: 0, perThread: [Int: Int]()))
        let threads = 8, rounds = 20_000
        // Real threads, not tasks: the cooperative pool has as many threads as cores, and contention needs more.
        let finished = DispatchSemaphore(value: 0)
        let workers = (0..<threads).map { index in
            Thread {
                defer { finished.signal() }
                for _ in 0..<rounds {
                    counter.withLock {
                        $0.total += 1
                        $0.perThread[index, default: 0] += 1
                    }
                }
            }
        }
        for worker in workers { worker.start() }
        for _ in 0..<threads { finished.wait() }
        let (total, perThread) = counter.withLock { ($0.total, $0.perThread) }
        #expect(total == threads * rounds)
        #expect(perThread.count == threads && perThread.values.allSatisfy { $0 == rounds }, "\(perThread)")
    }

    @Test func theLockIsReleasedWhenTheBodyThrows() {
        struct Refused: Error {}
        let value = Locked(1)
        #expect(throws: Refused.self) { try value.withLock { _ in throw Refused() } }
        // Were it still held, this would deadlock (pthread's default mutex does not recurse).
        #expect(value.withLock { $0 } == 1)
    }
}
