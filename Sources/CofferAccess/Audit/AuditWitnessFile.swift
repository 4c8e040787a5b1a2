import CofferFoundation
import CofferStore
import Foundation

/// A checkpoint as one JSON line (the witness file's format, and `coffer audit verify --witness`).
public struct AuditCheckpointLine: Codable, Sendable {
    public let sequence: Int64
    public let head: String
    /// Microseconds since the epoch (exactly what was signed).
    public let time_us: Int64
    public let signature: String
    /// The checkpoint before it (absent for version 1 checkpoints).
    public let previous: Int64?

    public init(_ checkpoint: AuditCheckpoint) {
        sequence = checkpoint.sequence
        head = Hex.encode(checkpoint.head)
        time_us = checkpoint.time.microsecondsSinceEpoch
        signature = Hex.encode(checkpoint.signature)
        previous = checkpoint.previous
    }

    public var checkpoint: AuditCheckpoint? {
        guard let head = Hex.decode(head), let signature = Hex.decode(signature) else { return nil }
        return AuditCheckpoint(
            sequence: sequence, head: head, time: Date(microsecondsSinceEpoch: time_us), signature: signature, previous: previous)
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// Appending to the witness file: opened with O_APPEND, written in one call, fsynced.
public enum AuditWitnessFile {
    public static func append(_ line: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AccessError(.auditUnavailable, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw AccessError(.auditUnavailable, "cannot append to \(path)") }
    }

    /// The newest checkpoint in a witness file, or `nil` for an empty or missing file.
    public static func newest(in path: String) throws -> AuditCheckpoint? {
        try all(in: path).max { $0.sequence < $1.sequence }
    }

    /// Every checkpoint in a witness file, in file order; empty for an empty or missing file.
    public static func all(in path: String) throws -> [AuditCheckpoint] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").filter { !$0.isEmpty }.map { line in
            guard let parsed = try? JSONDecoder().decode(AuditCheckpointLine.self, from: Data(line.utf8)),
                let checkpoint = parsed.checkpoint
            else {
                throw AccessError(.invalidRequest, "the witness file \(path) has a line that is not a checkpoint")
            }
            return checkpoint
        }
    }
}
