import CofferAccess
import CofferCrypto
import CofferFoundation
import CofferKeys
import CofferStore
import CofferTesting
import Foundation
import PropertyBased
import Testing

/// Archiving the audit trail into sealed segment files: the live table continues from the newest segment, the
/// whole trail (archive and table) still verifies, online and offline, and each way a database writer or a file
/// editor could pass a deletion or an edit off as an archive is named.
struct AuditArchiveTests {
    /// Everything checkpointed so far is older than this.
    static let cutoff = Date.distantFuture

    struct Fixture: Sendable {
        let db: any Database
        let log: AuditLog
        let keys: KeyHierarchy
        let trail: AuditTrail
        let archive: AuditArchive
        let publicKey: [UInt8]

        /// Appends `count` entries after `from`, in commits of up to 7 (each commit signs a checkpoint).
        func append(_ count: Int, from: Int = 0) async throws {
            for start in stride(from: from, to: from + count, by: 7) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in start..<min(start + 7, from + count) {
                        group.addTask { try await log.append(AuditLogTests.entry(index)) }
                    }
                    try await group.waitForAll()
                }
            }
        }

        func archiveAll(limit: Int64) async throws -> [AuditSegment] {
            var segments: [AuditSegment] = []
            while let segment = try await trail.archive(
                into: archive, before: AuditArchiveTests.cutoff, signer: try keys.auditSigner(), sealer: try keys.sealer(), limit: limit)
            {
                segments.append(segment)
            }
            return segments
        }

        func verify(files: Bool = true) async throws -> AuditChain.Report {
            try await trail.verify(
                publicKey: publicKey, witnessed: [], sealer: try keys.sealer(), requireCoverage: true, archive: files ? archive : nil)
        }

        func count(_ table: String) async throws -> Int64 {
            try await db.read { try $0.queryScalar(Int64.self, SQLQuery(unsafeSQL: "SELECT count(*) FROM \(table)")) ?? -1 }
        }
    }

    static func with(_ backend: TestBackend, _ body: @Sendable (Fixture) async throws -> Void) async throws {
        try await TestDatabase.with(backend) { db in
            let keys = try await AuditLogTests.unsealedKeys(db)
            let signer = try keys.auditSigner()
            let log = AuditLog(database: db, configuration: AuditConfiguration(), logger: TestDatabase.logger, signer: { signer }) {
                try? keys.sealer()
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-archive-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try await body(
                Fixture(
                    db: db, log: log, keys: keys, trail: AuditTrail(database: db), archive: AuditArchive(directory: folder),
                    publicKey: signer.key.publicKey))
        }
    }

    @Test(arguments: TestDatabase.backends)
    func archivedTrailStillVerifies(_ backend: TestBackend) async throws {
        try await Self.with(backend) { fixture in
            try await fixture.append(120)
            let segments = try await fixture.archiveAll(limit: 50)
            #expect(segments.count >= 2, "\(segments.map { "\($0.first)…\($0.last)" })")
            #expect(segments.first?.first == 1 && zip(segments, segments.dropFirst()).allSatisfy { $1.first == $0.last + 1 })
            let archived = try #require(segments.last).last
            #expect(archived <= 120 && archived > 120 - 50, "every checkpointed entry is archived, up to the newest checkpoint")
            #expect(try await fixture.count("audit_log") == 120 - archived)
            #expect(try await fixture.count("audit_segments") == Int64(segments.count))
            #expect(
                try await fixture.trail.checkpoints().map(\.sequence).min() == archived,
                "their checkpoints went with them, but for the one the live table continues from")
            for segment in segments {
                let attributes = try FileManager.default.attributesOfItem(atPath: fixture.archive.path(of: segment))
                #expect((attributes[.posixPermissions] as? Int) == 0o600)
            }

            var report = try await fixture.verify()
            #expect(report.finding == .intact(entries: 120), "\(report)")
            #expect(report.segments == segments.count && report.segmentFiles == segments.count && report.archivedEntries == archived)
            #expect(report.entries == 120 - archived && report.tags == 120 - archived)

            // The live table goes on from the archive's head: new entries chain and checkpoint from it.
            try await fixture.append(30, from: 120)
            report = try await fixture.verify()
            #expect(report.finding == .intact(entries: 150), "\(report)")
            // Without the files, the seals alone still stand for the archived entries.
            report = try await fixture.verify(files: false)
            #expect(report.finding == .intact(entries: 150) && report.missingSegmentFiles.count == segments.count, "\(report)")

            // Offline: the folder alone, with the public key; then an export of the live table continuing from it.
            let offline = try AuditArchive.verify(
                try fixture.archive.segmentsOnDisk(), files: fixture.archive, publicKey: fixture.publicKey, witnessed: [])
            #expect(offline.report.finding == .intact(entries: archived) && offline.end.sequence == archived)
            var live: [AuditRecord] = []
            try await fixture.trail.forEach { live.append($0.record) }
            let exported = try AuditChain.verify(live, checkpoints: [], witnessed: [], publicKey: fixture.publicKey, start: offline.end)
            #expect(exported.finding == .intact(entries: 150))
            let other = try Ed25519SigningKey(seed: SecureBytes(copying: [UInt8](repeating: 7, count: 32))).publicKey
            let wrongKey = try AuditArchive.verify(
                try fixture.archive.segmentsOnDisk(), files: fixture.archive, publicKey: other, witnessed: [])
            #expect(wrongKey.report.finding == .badSegment(first: 1, reason: "its seal's signature does not verify"))

            // Nothing older than the cutoff: nothing to archive, and the next archive continues where this one ended.
            #expect(
                try await fixture.trail.archive(
                    into: fixture.archive, before: Date(timeIntervalSince1970: 0), signer: try fixture.keys.auditSigner(),
                    sealer: try fixture.keys.sealer()) == nil)
            let more = try await fixture.archiveAll(limit: 1_000)
            #expect(more.first?.first == archived + 1 && more.last?.last ?? 0 > 140)
            #expect(try await fixture.verify().finding == .intact(entries: 150))
        }
    }

    /// What a database writer or someone with the archive folder could do, and what verification says.
    @Test(arguments: TestDatabase.backends)
    func tamperingWithTheArchiveShows(_ backend: TestBackend) async throws {
        try await Self.with(backend) { fixture in
            try await fixture.append(100)
            let segments = try await fixture.archiveAll(limit: 40)
            let first = try #require(segments.first), newest = try #require(segments.last)
            try await fixture.append(10, from: 100)
            #expect(try await fixture.verify().finding == .intact(entries: 110))

            // An entry edited in a sealed file.
            let path = fixture.archive.path(of: first)
            let original = try #require(FileManager.default.contents(atPath: path))
            let edited = String(decoding: original, as: UTF8.self).replacingOccurrences(of: "entry 3\\\"", with: "entry 4\\\"")
            #expect(edited.utf8.count == original.count && Data(edited.utf8) != original)
            try Data(edited.utf8).write(to: URL(fileURLWithPath: path))
            #expect(
                try await fixture.verify().finding
                    == .badSegment(first: 1, reason: "its file \(first.file) was changed after it was sealed"))
            // The file of another segment put in its place.
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: fixture.archive.path(of: newest), toPath: path)
            #expect(
                try await fixture.verify().finding
                    == .badSegment(first: 1, reason: "its file \(first.file) is not the segment the database names"))
            // A file cut short (its seal gone).
            try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: path))
            #expect(
                try await fixture.verify().finding == .badSegment(first: 1, reason: "its file \(first.file) is not a whole segment file"))
            try original.write(to: URL(fileURLWithPath: path))
            #expect(try await fixture.verify().finding == .intact(entries: 110))

            // A row pointed at a file of the writer's choosing: refused before anything is opened.
            _ = try await fixture.db.execute("UPDATE audit_segments SET file = '../../etc/passwd' WHERE first_sequence = 1")
            #expect(try await fixture.verify().finding == .badSegment(first: 1, reason: "it names a file other than its range's"))
            _ = try await fixture.db.execute("UPDATE audit_segments SET file = \(first.file) WHERE first_sequence = 1")
            #expect(try await fixture.verify().finding == .intact(entries: 110))

            // A segment row removed: the trail no longer reaches the live table.
            _ = try await fixture.db.execute("DELETE FROM audit_segments WHERE first_sequence = \(newest.first)")
            #expect(try await fixture.verify().finding == .removed(after: newest.first - 1, next: newest.last + 1))
            try await Self.insert(newest, into: fixture.db)
            #expect(try await fixture.verify().finding == .intact(entries: 110))

            // A row's range stretched over live entries (deleting them), keeping its signature: the seal no longer verifies.
            _ = try await fixture.db.execute("DELETE FROM audit_log WHERE sequence <= \(newest.last + 5)")
            _ = try await fixture.db.execute(
                "UPDATE audit_segments SET last_sequence = \(newest.last + 5) WHERE first_sequence = \(newest.first)")
            #expect(try await fixture.verify().finding == .badSegment(first: newest.first, reason: "its seal's signature does not verify"))
        }
    }

    /// `coffer audit verify --archive --file` with the real binary: the folder and an export of the live table
    /// verify offline with nothing but the public key; an edited segment exits 2 naming it.
    @Test func offlineVerificationWithTheBinary() async throws {
        try await Self.with(.sqlite) { fixture in
            try await fixture.append(90)
            let segments = try await fixture.archiveAll(limit: 40)
            try await fixture.append(10, from: 90)
            var export = ""
            try await fixture.trail.forEach { export += $0.json + "\n" }
            let folder = try TestDatabase.temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try Data(export.utf8).write(to: URL(fileURLWithPath: "\(folder)/live.jsonl"))
            let key = Hex.encode(fixture.publicKey)
            let arguments = ["audit", "verify", "--archive", fixture.archive.directory, "--file", "live.jsonl", "--public-key", key]
            let (status, output) = try await CofferProcess.run(arguments, in: folder)
            #expect(status == 0, "\(output)")
            #expect(output.contains("archive: \(segments.count) segments sealed, \(segments.count) files read"), "\(output)")
            #expect(output.contains("intact: 100 entries"), "\(output)")
            let (alone, aloneOutput) = try await CofferProcess.run(
                ["audit", "verify", "--archive", fixture.archive.directory, "--public-key", key], in: folder)
            let archived = try #require(segments.last).last
            #expect(alone == 0 && aloneOutput.contains("intact: \(archived) entries"), "\(aloneOutput)")

            let path = fixture.archive.path(of: try #require(segments.last))
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try Data(text.replacingOccurrences(of: "sys/thing/", with: "sys/thinG/").utf8).write(to: URL(fileURLWithPath: path))
            let (tampered, tamperedOutput) = try await CofferProcess.run(arguments, in: folder)
            #expect(tampered == 2 && tamperedOutput.contains("was changed after it was sealed"), "\(tamperedOutput)")
        }
    }

    /// Two instances archiving at once (each with its own idea of a segment's size): each stretch is committed
    /// once, the loser's file of another length is removed, and the folder alone still verifies offline.
    @Test(arguments: TestDatabase.backends)
    func concurrentArchiversCommitEachStretchOnce(_ backend: TestBackend) async throws {
        try await Self.with(backend) { fixture in
            var committed: [Int64] = []
            for round in 0..<4 {
                try await fixture.append(60, from: round * 60)
                let results = try await withThrowingTaskGroup(of: [AuditSegment].self) { group in
                    for limit: Int64 in [25, 35] { group.addTask { try await fixture.archiveAll(limit: limit) } }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                let stored = try await fixture.trail.segments()
                #expect(Set(results.map(\.first)).count == results.count, "no stretch committed twice: \(results.map(\.first))")
                committed += results.map(\.first).sorted()
                #expect(stored.map(\.first) == committed)
                let files = try FileManager.default.contentsOfDirectory(atPath: fixture.archive.directory).sorted()
                #expect(files == stored.map(\.file), "no stray or temporary file")
                #expect(try await fixture.verify().finding == .intact(entries: Int64(round * 60 + 60)))
            }
            let offline = try AuditArchive.verify(
                try fixture.archive.segmentsOnDisk(), files: fixture.archive, publicKey: fixture.publicKey, witnessed: [])
            #expect(offline.report.finding.isIntact, "\(offline.report)")
        }
    }

    /// A stretch a database writer altered is not sealed: the archive refuses, and nothing is deleted.
    @Test(arguments: TestDatabase.backends)
    func alteredEntriesAreNotArchived(_ backend: TestBackend) async throws {
        try await Self.with(backend) { fixture in
            try await fixture.append(30)
            _ = try await fixture.db.execute("UPDATE audit_log SET path = 'sys/elsewhere' WHERE sequence = 9")
            await #expect(throws: AccessError.self) { _ = try await fixture.archiveAll(limit: 100) }
            #expect(try await fixture.count("audit_log") == 30)
            #expect(try await fixture.count("audit_segments") == 0)
            #expect(!FileManager.default.fileExists(atPath: fixture.archive.directory + "/" + AuditSegment.fileName(first: 1, last: 30)))
            #expect(try await fixture.verify().finding == .altered(sequence: 9))
        }
    }

    /// Whatever the segment sizes and however archiving and appending interleave, the archive and the table
    /// together hold every entry once, in order, and verify.
    @Test func anyInterleavingKeepsTheTrailWhole() async throws {
        try await Self.with(.sqlite) { fixture in
            let written = Locked(0)
            await propertyCheck(count: 25, input: Gen<Int>.int(in: 0...40), Gen<Int>.int(in: 1...60)) { appended, limit in
                do {
                    let from = written.withLock { $0 }
                    try await fixture.append(appended, from: from)
                    written.withLock { $0 += appended }
                    _ = try await fixture.archiveAll(limit: Int64(limit))
                    let total = Int64(written.withLock { $0 })
                    let report = try await fixture.verify()
                    #expect(report.finding == .intact(entries: total), "\(report)")
                    var requestIDs: [String] = []
                    for segment in try fixture.archive.segmentsOnDisk() {
                        let file = try AuditSegmentFile.read(path: fixture.archive.path(of: segment))
                        requestIDs += file.records.compactMap { record in record.fields.first { $0.0 == "request_id" }?.1 }
                    }
                    try await fixture.trail.forEach { requestIDs.append($0.entry.requestID) }
                    #expect(requestIDs.sorted() == (0..<Int(total)).map { "r\($0)" }.sorted() && requestIDs.count == Int(total))
                } catch { Issue.record(error, "append \(appended), segments of \(limit)") }
            }
        }
    }

    static func insert(_ segment: AuditSegment, into db: any Database) async throws {
        _ = try await db.execute(
            """
            INSERT INTO audit_segments (first_sequence, last_sequence, anchor, head, digest, time, file, signature)
            VALUES (\(segment.first), \(segment.last), \(segment.anchor), \(segment.head), \(segment.digest), \(segment.time),
            \(segment.file), \(segment.signature))
            """)
    }
}
