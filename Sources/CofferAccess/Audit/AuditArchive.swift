import CofferCrypto
import CofferFoundation
import Foundation

/// The folder of sealed segment files the audit trail is archived into (`audit_archive_dir`).
///
/// A segment file is JSON lines: the entries as `coffer audit export` writes them, then the checkpoints that
/// fall in the segment as `{"checkpoint": …}`, then the seal as `{"seal": …}` (``AuditSegment``), whose
/// digest covers every byte before it. Files are written whole (a temporary name, fsync, rename), never
/// appended to, and read back with nothing but the audit public key.
public struct AuditArchive: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The path of `segment`'s file.
    public func path(of segment: AuditSegment) -> String { directory + "/" + segment.file }

    /// The seals of every segment file in the folder, in the trail's order (offline verification, where
    /// there is no database to name them).
    public func segmentsOnDisk() throws -> [AuditSegment] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return try names.filter { $0.hasPrefix("audit-") && $0.hasSuffix(".jsonl") }.sorted().map { name in
            try AuditSegmentFile.read(path: directory + "/" + name).seal
        }
    }

    /// Checks `segments` (the database's rows, or the folder's seals) and every file of theirs `files` holds:
    /// each seal's signature, that each segment begins where the one before it ended (the first at the trail's
    /// beginning), and each file's digest, entries, checkpoints and the `witnessed` checkpoints that fall in it.
    /// Returns the report (its finding intact or the first problem) and where the live trail must continue.
    public static func verify(_ segments: [AuditSegment], files: AuditArchive?, publicKey: [UInt8], witnessed: [AuditCheckpoint]) throws
        -> (
            report: AuditChain.Report, end: AuditChain.Anchor
        )
    {
        var report = AuditChain.Report(finding: .intact(entries: 0))
        var end = AuditChain.Anchor.genesis
        for segment in segments {
            if let problem = problem(sealing: segment, after: end, publicKey: publicKey) {
                report.finding = problem
                return (report, end)
            }
            report.segments += 1
            if let path = files?.path(of: segment), FileManager.default.fileExists(atPath: path) {
                // A file cut short or overwritten is a finding about the archive, not a failure of the check.
                let file: AuditSegmentFile
                do {
                    file = try AuditSegmentFile.read(path: path)
                } catch {
                    report.finding = .badSegment(first: segment.first, reason: "its file \(segment.file) is not a whole segment file")
                    return (report, end)
                }
                guard file.seal.sealsTheSame(as: segment) else {
                    report.finding = .badSegment(
                        first: segment.first, reason: "its file \(segment.file) is not the segment the database names")
                    return (report, end)
                }
                let checked = try file.verify(publicKey: publicKey, witnessed: witnessed)
                report.witnessRecords += checked.witnessRecords
                guard checked.finding.isIntact else {
                    report.finding = checked.finding
                    return (report, end)
                }
                report.segmentFiles += 1
                report.archivedEntries += checked.entries
            } else {
                report.missingSegmentFiles.append(segment.file)
            }
            end = segment.end
        }
        report.finding = .intact(entries: end.sequence)
        return (report, end)
    }

    /// What is wrong with `segment`'s seal as the one after `end`, if anything.
    static func problem(sealing segment: AuditSegment, after end: AuditChain.Anchor, publicKey: [UInt8]) -> AuditChain.Finding? {
        guard segment.isSigned(by: publicKey) else {
            return .badSegment(first: segment.first, reason: "its seal's signature does not verify")
        }
        // The name is not signed but follows from the range that is: a row naming another file (a database writer
        // pointing verification at a path of its choice) is refused before any file is opened.
        guard segment.file == AuditSegment.fileName(first: segment.first, last: segment.last) else {
            return .badSegment(first: segment.first, reason: "it names a file other than its range's")
        }
        guard segment.first == end.sequence + 1, segment.last >= segment.first, ConstantTime.equals(segment.anchor, end.head) else {
            return .badSegment(
                first: segment.first,
                reason: "it does not continue the trail from entry \(end.sequence) (a segment was removed or replaced)")
        }
        return nil
    }

    /// Writes a segment file whole: a temporary name, fsync, rename, fsync of the folder. The same range sealed
    /// twice (two instances) has the same bytes, so a rename over an existing file changes nothing.
    func write(_ bytes: [UInt8], as name: String) throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = "\(directory)/.\(name).\(UUID().uuidString).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw Self.failure("cannot create \(temporary)") }
        var ok = true
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while ok, offset < raw.count {
                let written = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { ok = false } else { offset += written }
            }
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, "\(directory)/\(name)") == 0 else {
            unlink(temporary)
            throw Self.failure("cannot write \(directory)/\(name)")
        }
        let folder = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    private static func failure(_ what: String) -> AccessError {
        AccessError(.auditUnavailable, "\(what): \(String(cString: strerror(errno))); check that audit_archive_dir is writable")
    }
}

/// One segment file, read back: its seal, entries and checkpoints, and whether its bytes still hash to the
/// digest the seal names.
public struct AuditSegmentFile: Sendable {
    public let seal: AuditSegment
    public let records: [AuditRecord]
    public let checkpoints: [AuditCheckpoint]
    public let digestMatches: Bool

    /// The bytes before the seal: one line per entry, then one per checkpoint.
    static func body(entries: [String], checkpoints: [AuditCheckpoint]) -> [UInt8] {
        var text = ""
        for line in entries { text += line + "\n" }
        for checkpoint in checkpoints { text += "{\"checkpoint\":" + AuditCheckpointLine(checkpoint).json + "}\n" }
        return Array(text.utf8)
    }

    /// The seal line that ends the file.
    static func sealLine(_ segment: AuditSegment) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let seal = String(decoding: (try? encoder.encode(AuditSegmentSeal(segment))) ?? Data(), as: UTF8.self)
        return Array("{\"seal\":\(seal)}\n".utf8)
    }

    /// Reads and parses the file at `path`.
    /// - Throws: ``AccessError`` `.invalidRequest` naming the file when it cannot be read or has no seal, or a line
    ///   is not one of its three kinds.
    public static func read(path: String) throws -> AuditSegmentFile {
        let name = (path as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AccessError(.invalidRequest, "cannot read the archive segment \(path)")
        }
        let bytes = [UInt8](data)
        // The seal is the last line; the digest covers everything before it.
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        let sealStart = bytes[..<end].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        struct SealLine: Decodable { let seal: AuditSegmentSeal }
        struct CheckpointLine: Decodable { let checkpoint: AuditCheckpointLine }
        guard let sealLine = try? JSONDecoder().decode(SealLine.self, from: Data(bytes[sealStart..<end])),
            let seal = sealLine.seal.segment(file: name)
        else {
            throw AccessError(.invalidRequest, "the archive segment \(path) has no seal as its last line: it is not a whole segment file")
        }
        let digest = try BLAKE2b.hash(Array(bytes[..<sealStart]), length: 32)
        var records: [AuditRecord] = []
        var checkpoints: [AuditCheckpoint] = []
        for line in String(decoding: bytes[..<sealStart], as: UTF8.self).split(separator: "\n") where !line.isEmpty {
            if line.hasPrefix("{\"checkpoint\":") {
                guard let parsed = try? JSONDecoder().decode(CheckpointLine.self, from: Data(line.utf8)),
                    let checkpoint = parsed.checkpoint.checkpoint
                else { throw AccessError(.invalidRequest, "the archive segment \(path) has a checkpoint line that does not parse") }
                checkpoints.append(checkpoint)
            } else {
                records.append(try AuditTrail.Stored.parse(json: String(line)))
            }
        }
        return AuditSegmentFile(
            seal: seal, records: records, checkpoints: checkpoints, digestMatches: ConstantTime.equals(digest, seal.digest))
    }

    /// Checks the seal's signature and digest, recomputes the chain from the seal's anchor, checks every
    /// checkpoint in the file (the last covering the last entry) and the `witnessed` ones in its range, and
    /// that the entries end at the head the seal names.
    public func verify(publicKey: [UInt8], witnessed: [AuditCheckpoint]) throws -> AuditChain.Report {
        var report = AuditChain.Report(finding: .intact(entries: 0))
        guard seal.isSigned(by: publicKey) else {
            report.finding = .badSegment(first: seal.first, reason: "its seal's signature does not verify")
            return report
        }
        guard digestMatches else {
            report.finding = .badSegment(first: seal.first, reason: "its file \(seal.file) was changed after it was sealed")
            return report
        }
        let range = seal.first...seal.last
        report = try AuditChain.verify(
            records, checkpoints: checkpoints, witnessed: witnessed.filter { range.contains($0.sequence) }, publicKey: publicKey,
            requireCoverage: true, start: AuditChain.Anchor(sequence: seal.first - 1, head: seal.anchor))
        if report.finding.isIntact, records.last?.sequence != seal.last || !ConstantTime.equals(records.last?.hash ?? [], seal.head) {
            report.finding = .badSegment(first: seal.first, reason: "its entries do not end at the head its seal names")
        }
        return report
    }
}
