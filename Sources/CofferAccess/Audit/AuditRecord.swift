import CofferStore
public import struct Foundation.Date

/// One audit entry as it is chained: numbered without gaps, hashed over a canonical encoding together
/// with the hash of the entry before it.
///
/// Fields hold no secret in the clear: sensitive values arrive here already replaced by
/// ``AuditHasher`` (`hmac:…`).
public struct AuditRecord: Sendable, Equatable {
    /// 1, 2, 3… with no gap across the whole trail (and across instances sharing a database).
    public var sequence: Int64
    public var time: Date
    /// The entry's content: ordered key/value pairs (request id, accessor, path, operation, decision, rule,
    /// status, latency, hashed values…). Order is part of the content.
    public var fields: [(String, String)]
    /// BLAKE2b-256 of the previous record's hash and this record's canonical encoding.
    public var hash: [UInt8]

    public init(sequence: Int64, time: Date, fields: [(String, String)], hash: [UInt8] = []) {
        self.sequence = sequence
        self.time = time
        self.fields = fields
        self.hash = hash
    }

    public static func == (lhs: AuditRecord, rhs: AuditRecord) -> Bool {
        lhs.sequence == rhs.sequence && lhs.time == rhs.time && lhs.hash == rhs.hash
            && lhs.fields.count == rhs.fields.count && zip(lhs.fields, rhs.fields).allSatisfy { $0 == $1 }
    }

    /// The canonical encoding: a version tag, then every field length-prefixed (4 bytes, big-endian), so
    /// that no two different records encode alike.
    public var canonicalEncoding: [UInt8] {
        Self.canonicalHead(sequence: sequence) + Self.canonicalBody(time: time, fields: fields)
    }

    /// The part of the encoding that names the record's place: the version tag and the sequence number.
    static func canonicalHead(sequence: Int64) -> [UInt8] {
        var out = Array("coffer-audit-v1".utf8)
        put(Array(String(sequence).utf8), into: &out)
        return out
    }

    /// The rest: time and fields. It does not depend on the sequence, so it is encoded before an entry
    /// reaches the (serial) writer.
    static func canonicalBody(time: Date, fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fields.reduce(32) { $0 + $1.0.utf8.count + $1.1.utf8.count + 8 })
        put(Array(String(time.microsecondsSinceEpoch).utf8), into: &out)
        put(Array(String(fields.count).utf8), into: &out)
        for (key, value) in fields {
            put(Array(key.utf8), into: &out)
            put(Array(value.utf8), into: &out)
        }
        return out
    }

    private static func put(_ bytes: [UInt8], into out: inout [UInt8]) {
        let count = UInt32(bytes.count)
        out += [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
        out += bytes
    }
}

/// A signed statement of the chain's head: "the trail had `sequence` entries, ending in `head`, at `time`".
/// Written to the database and to a witness outside it, because a chain alone cannot show that its newest
/// entries were cut off.
public struct AuditCheckpoint: Sendable, Equatable {
    public let sequence: Int64
    public let head: [UInt8]
    public let time: Date
    public let signature: [UInt8]
    /// The sequence of the checkpoint before this one (0 for the first), signed with it: checkpoints form a
    /// list, so one removed from the middle is found by the next. `nil` for a checkpoint written before the
    /// list (version 1), which names no predecessor.
    public let previous: Int64?

    public init(sequence: Int64, head: [UInt8], time: Date, signature: [UInt8], previous: Int64? = nil) {
        self.sequence = sequence
        self.head = head
        self.time = time
        self.signature = signature
        self.previous = previous
    }

    /// What is signed.
    public static func message(sequence: Int64, head: [UInt8], time: Date, previous: Int64?) -> [UInt8] {
        guard let previous else {
            return Array("coffer-audit-checkpoint-v1|\(sequence)|".utf8) + head + Array("|\(time.microsecondsSinceEpoch)".utf8)
        }
        return Array("coffer-audit-checkpoint-v2|\(sequence)|".utf8) + head + Array("|\(time.microsecondsSinceEpoch)|\(previous)".utf8)
    }

    /// The signed message of this checkpoint.
    public var message: [UInt8] { Self.message(sequence: sequence, head: head, time: time, previous: previous) }
}
