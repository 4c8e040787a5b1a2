import ArgumentParser
import CLibPQ
import CSQLite
import CofferStore
import CofferTesting
import Foundation
import Logging

/// `coffer-bench store`: the SQL layer against the raw C APIs (sqlite3, libpq), same work, same run.
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Point reads and batched inserts through CofferStore vs the raw C API, on SQLite and PostgreSQL."
    )

    @Option(help: "Rows in the table read from.") var rows = 10_000
    @Option(help: "Point reads per SQLite measurement.") var sqliteReads = 200_000
    @Option(help: "Point reads per PostgreSQL measurement.") var postgresReads = 20_000
    @Option(help: "Rows inserted per measurement.") var inserts = 50_000
    @Option(help: "Rows per insert transaction.") var batch = 1_000
    @Option(help: "Repetitions; the best of them is reported.") var repeats = 3
    @Option(help: "PostgreSQL URL (default: $COFFER_TEST_POSTGRES_URL; without either PostgreSQL is skipped).")
    var postgresURL: String?

    func run() async throws {
        var logger = Logger(label: "coffer.bench")
        logger.logLevel = .warning
        print(machineDescription())
        print("")
        print(row("backend", "work", "CofferStore", "raw C API", "ratio") + "   per CPU-second")

        let folder = NSTemporaryDirectory() + "coffer-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/bench.db"
        let sqlite = try await SQLiteDatabase(path: path, logger: logger)
        try await measure(sqlite, raw: try RawSQLite(path: path), readCount: sqliteReads, label: "sqlite")
        await sqlite.close()

        if let url = postgresURL ?? ProcessInfo.processInfo.environment["COFFER_TEST_POSTGRES_URL"] {
            let postgres = try await PostgresDatabase(PostgresConnectionString(url), logger: logger)
            try await measure(postgres, raw: try RawPostgres(conninfo: url), readCount: postgresReads, label: "postgresql")
            await postgres.close()
        } else {
            print("postgresql: skipped (set COFFER_TEST_POSTGRES_URL or --postgres-url)")
        }
    }

    private func measure(_ db: any Database, raw: some RawBackend, readCount: Int, label: String) async throws {
        let timestamp = db.dialect == .postgres ? "BIGINT" : "INTEGER"
        try await db.transaction { conn in
            try conn.executeScript(
                unsafeSQL: """
                    DROP TABLE IF EXISTS bench_read; DROP TABLE IF EXISTS bench_insert;
                    CREATE TABLE bench_read (id \(timestamp) PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE bench_insert (id \(timestamp) PRIMARY KEY, value TEXT NOT NULL, n \(timestamp) NOT NULL)
                    """)
        }
        let rowCount = rows
        try await db.transaction { conn in
            for id in 0..<rowCount {
                try conn.execute("INSERT INTO bench_read (id, value) VALUES (\(id), \("value-\(id)-" + String(repeating: "x", count: 48)))")
            }
        }
        let ids = (0..<readCount).map { _ in Int.random(in: 0..<rowCount) }

        // 1. Point reads, many on one lent connection: the layer's own cost per statement.
        let (layerReads, rawReads) = try await pair(
            {
                try await db.read { conn in
                    var bytes = 0
                    for id in ids {
                        bytes += try conn.queryScalar(String.self, "SELECT value FROM bench_read WHERE id = \(id)")?.utf8.count ?? 0
                    }
                    return bytes
                }
            }, { try raw.pointReads(ids) })
        report(label, "point reads/s, one lent connection", readCount, layerReads, rawReads)

        // 2. Point reads, one `db.read` call each: adds the hop to the store's thread pool per call.
        let perCallIDs = Array(ids.prefix(readCount / 4))
        let (layerPerCall, rawPerCall) = try await pair(
            {
                var bytes = 0
                for id in perCallIDs {
                    bytes += try await db.read { conn in
                        try conn.queryScalar(String.self, "SELECT value FROM bench_read WHERE id = \(id)")?.utf8.count ?? 0
                    }
                }
                return bytes
            }, { try raw.pointReads(perCallIDs) })
        report(label, "point reads/s, one db.read each", perCallIDs.count, layerPerCall, rawPerCall)

        // 3. Batched inserts: `batch` rows a transaction.
        let batch = batch, total = inserts
        var offset = 0
        let (layerInserts, rawInserts) = try await pair(
            {
                for start in stride(from: 0, to: total, by: batch) {
                    let ids = (offset + start)..<min(offset + start + batch, offset + total)
                    try await db.transaction { conn in
                        for id in ids {
                            try conn.execute("INSERT INTO bench_insert (id, value, n) VALUES (\(id), \("row-\(id)"), \(id * 7))")
                        }
                    }
                }
                offset += total
                return total
            },
            {
                try raw.insert(from: offset, count: total, batch: batch)
                offset += total
                return total
            })
        report(label, "inserts/s, \(batch) per transaction", total, layerInserts, rawInserts)

        // 4. The same inserts through executeBatch: one prepared statement, rows of values.
        let (layerBatch, rawBatch) = try await pair(
            {
                for start in stride(from: 0, to: total, by: batch) {
                    let rows: [[SQLValue]] = ((offset + start)..<min(offset + start + batch, offset + total)).map { id in
                        [.int(Int64(id)), .text("row-\(id)"), .int(Int64(id * 7))]
                    }
                    _ = try await db.transaction { conn in
                        try conn.executeBatch("INSERT INTO bench_insert (id, value, n) VALUES ($1, $2, $3)", rows: rows)
                    }
                }
                offset += total
                return total
            },
            {
                try raw.insert(from: offset, count: total, batch: batch)
                offset += total
                return total
            })
        report(label, "inserts/s, executeBatch \(batch) per txn", total, layerBatch, rawBatch)
        raw.close()
    }

    /// Wall-clock and CPU seconds (all threads of the process) of one run.
    struct Cost {
        var wall = Double.infinity
        var cpu = Double.infinity
    }

    /// Runs the layer's and the raw version alternately `repeats` times each (so both see the same
    /// machine noise) and returns the best wall and CPU time of each.
    private func pair(_ layer: () async throws -> Int, _ raw: () async throws -> Int) async throws -> (Cost, Cost) {
        var best = (Cost(), Cost())
        for _ in 0..<max(1, repeats) {
            let l = try await time(layer), r = try await time(raw)
            best.0 = Cost(wall: min(best.0.wall, l.wall), cpu: min(best.0.cpu, l.cpu))
            best.1 = Cost(wall: min(best.1.wall, r.wall), cpu: min(best.1.cpu, r.cpu))
        }
        return best
    }

    private func time(_ body: () async throws -> Int) async throws -> Cost {
        let cpuStart = processCPUSeconds()
        let start = ContinuousClock.now
        let result = try await body()
        precondition(result >= 0)
        let elapsed = ContinuousClock.now - start
        return Cost(
            wall: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            cpu: processCPUSeconds() - cpuStart)
    }

    private func report(_ backend: String, _ work: String, _ count: Int, _ layer: Cost, _ raw: Cost) {
        let layerRate = Double(count) / layer.wall, rawRate = Double(count) / raw.wall
        // Per CPU-second: what each costs in CPU, whichever thread it ran on (waits for fsync and thread
        // wake-ups are not counted).
        let cpuRatio = (Double(count) / layer.cpu) / (Double(count) / raw.cpu)
        print(
            row(
                backend, work, String(format: "%.0f", layerRate), String(format: "%.0f", rawRate),
                String(format: "%.1f%%", layerRate / rawRate * 100))
                + String(format: "   %.1f%%", cpuRatio * 100))
    }

    private func row(_ a: String, _ b: String, _ c: String, _ d: String, _ e: String) -> String {
        a.padding(toLength: 11, withPad: " ", startingAt: 0) + b.padding(toLength: 40, withPad: " ", startingAt: 0)
            + c.padding(toLength: 13, withPad: " ", startingAt: 0) + d.padding(toLength: 13, withPad: " ", startingAt: 0)
            + e.padding(toLength: 8, withPad: " ", startingAt: 0)
    }
}

/// What the machine is, printed above the figures.
/// Runs `body` on a fresh SQLite database, then on a fresh PostgreSQL schema when `COFFER_TEST_POSTGRES_URL`
/// is set (`make <target>` starts a throwaway server), dropping each afterwards.
func forEachBackend(target: String, _ body: (_ url: String, _ label: String) async throws -> Void) async throws {
    for backend in [TestBackend.sqlite, .postgres] {
        if backend == .postgres && TestDatabase.postgresURL == nil {
            print("postgresql: skipped (set COFFER_TEST_POSTGRES_URL; make \(target) starts a throwaway server)")
            continue
        }
        let scratch = try await TestDatabase.create(backend)
        do {
            try await body(scratch.url, backend == .sqlite ? "sqlite" : "postgresql")
        } catch {
            try? await scratch.drop()
            throw error
        }
        try await scratch.drop()
    }
}

func machineDescription() -> String {
    let cpu =
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
    return
        """
        machine: \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(memory) GiB; sqlite \
        \(String(cString: sqlite3_libversion())), libpq \(PQlibVersion())
        """
}

/// User and system CPU time of the whole process (every thread), from getrusage.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
