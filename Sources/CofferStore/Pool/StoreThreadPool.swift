import NIOPosix

/// The threads on which a database's blocking C calls run, started with the database and stopped on close.
enum StoreThreadPool {
    static func start(threads: Int) -> NIOThreadPool {
        let pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
        return pool
    }
}
