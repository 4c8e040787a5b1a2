import Foundation
import Synchronization

/// A task executor with one thread of its own, for the audit writer's loop.
///
/// The writer awaits many times per group commit (gathering, the store's transaction, the checkpoint). On
/// Swift's shared cooperative pool each of those resumptions queues behind every request task, so under
/// load one commit cycle stretched to several milliseconds while the CPU sat partly idle (measured:
/// `make bench-kv`, Docs/BENCHMARKS.md). On its own thread the writer resumes at once.
final class WriterExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: the queue is behind `lock`; the thread only pops.
    private let lock = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    init(name: String) {
        let thread = Thread { [self] in self.run() }
        thread.name = name
        thread.start()
    }

    /// Lets the thread finish once its queue is empty (the owner is going away).
    func stop() {
        lock.lock()
        stopped = true
        lock.signal()
        lock.unlock()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        lock.lock()
        jobs.append(unowned)
        lock.signal()
        lock.unlock()
    }

    private func run() {
        while true {
            lock.lock()
            while jobs.isEmpty && !stopped { lock.wait() }
            if jobs.isEmpty && stopped {
                lock.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            lock.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
