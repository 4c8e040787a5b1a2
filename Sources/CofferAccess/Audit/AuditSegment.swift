import CofferCrypto
import CofferFoundation
public import CofferStore
public import Foundation

/// A sealed stretch of the archived audit trail: entries `first…last`, chained from `anchor` (the hash of
/// entry `first − 1`) to `head` (the hash of `last`, which is always a checkpoint's sequence), in a file whose
/// BLAKE2b-256 is `digest`, signed by the audit key. Its row in `audit_segments` stands for the entries once
/// they are deleted from `audit_log`: the live trail continues from the newest segment's head.
public struct AuditSegment: Sendable, Equatable {
    public let first: Int64
    public let last: Int64
    public let anchor: [UInt8]
    public let head: [UInt8]
    public let digest: [UInt8]
    /// The time of the checkpoint at `last`, so two instances sealing the same range write the same bytes.
    public let time: Date
    /// The file's name inside the archive folder.
    public let file: String
    public let signature: [UInt8]

    public init(first: Int64, last: Int64, anchor: [UInt8], head: [UInt8], digest: [UInt8], time: Date, file: String, signature: [UInt8]) {
        self.first = first
        self.last = last
        self.anchor = anchor
        self.head = head
        self.digest = digest
        self.time = time
        self.file = file
        self.signature = signature
    }

    /// A segment of `first…last` signed with `signer`.
    static func sealed(
        first: Int64, last: Int64, anchor: [UInt8], head: [UInt8], digest: [UInt8], time: Date, signer: borrowing Ed25519SigningKey
    ) -> AuditSegment {
        AuditSegment(
            first: first, last: last, anchor: anchor, head: head, digest: digest, time: time, file: fileName(first: first, last: last),
            signature: signer.sign(message(first: first, last: last, anchor: anchor, head: head, digest: digest, time: time)))
    }

    /// `audit-<first>-<last>.jsonl`, zero-padded so that names sort in the trail's order.
    public static func fileName(first: Int64, last: Int64) -> String {
        func padded(_ value: Int64) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, 19 - text.count)) + text
        }
        return "audit-\(padded(first))-\(padded(last)).jsonl"
    }

    /// What is signed. The prefix keeps a segment's signature from ever reading as a checkpoint's; the hashes
    /// are 32 bytes each, so the concatenation is unambiguous.
    static func message(first: Int64, last: Int64, anchor: [UInt8], head: [UInt8], digest: [UInt8], time: Date) -> [UInt8] {
        Array("coffer-audit-segment-v1|\(first)|\(last)|".utf8) + anchor + Array("|".utf8) + head + Array("|".utf8) + digest
            + Array("|\(time.microsecondsSinceEpoch)".utf8)
    }

    /// Whether the audit key signed this segment.
    public func isSigned(by publicKey: [UInt8]) -> Bool {
        Ed25519SigningKey.verify(
            signature: signature, message: Self.message(first: first, last: last, anchor: anchor, head: head, digest: digest, time: time),
            publicKey: publicKey)
    }

    /// Where the trail continues after this segment.
    public var end: AuditChain.Anchor { AuditChain.Anchor(sequence: last, head: head) }

    /// The same seal, ignoring the file name (a row and the file it names must agree on everything signed).
    func sealsTheSame(as other: AuditSegment) -> Bool {
        first == other.first && last == other.last && ConstantTime.equals(anchor, other.anchor) && ConstantTime.equals(head, other.head)
            && ConstantTime.equals(digest, other.digest) && time.microsecondsSinceEpoch == other.time.microsecondsSinceEpoch
            && ConstantTime.equals(signature, other.signature)
    }

}

/// An `audit_segments` row.
extension AuditSegment: SQLRowDecodable {
    /// The columns of `audit_segments`.
    enum Column: String, SQLColumn {
        case first = "first_sequence", last = "last_sequence", anchor, head, digest, time, file, signature
    }

    public init(row: SQLRow) throws {
        self.init(
            first: try row.decode(Column.first), last: try row.decode(Column.last), anchor: try row.decode(Column.anchor),
            head: try row.decode(Column.head), digest: try row.decode(Column.digest), time: try row.decode(Column.time),
            file: try row.decode(Column.file), signature: try row.decode(Column.signature))
    }
}

/// The seal as the last line of a segment file: `{"seal": {…}}`.
struct AuditSegmentSeal: Codable {
    let first: Int64
    let last: Int64
    let anchor: String
    let head: String
    let digest: String
    let time_us: Int64
    let signature: String

    init(_ segment: AuditSegment) {
        first = segment.first
        last = segment.last
        anchor = Hex.encode(segment.anchor)
        head = Hex.encode(segment.head)
        digest = Hex.encode(segment.digest)
        time_us = segment.time.microsecondsSinceEpoch
        signature = Hex.encode(segment.signature)
    }

    func segment(file: String) -> AuditSegment? {
        guard let anchor = Hex.decode(anchor), let head = Hex.decode(head), let digest = Hex.decode(digest),
            let signature = Hex.decode(signature)
        else { return nil }
        return AuditSegment(
            first: first, last: last, anchor: anchor, head: head, digest: digest, time: Date(microsecondsSinceEpoch: time_us), file: file,
            signature: signature)
    }
}
