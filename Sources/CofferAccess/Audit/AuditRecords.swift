import CofferKeys
public import CofferStore
import Foundation

// The trail's rows as stored: one record per table, its columns named once and read by position.

/// An `audit_log` row: the entry as hashed (its fields), its query columns as stored (which could disagree with
/// the fields if someone edited them: ``AuditTrail/Stored/columnsMatchFields``), and its tag.
struct AuditLogRecord: TaggedRecord {
    let stored: AuditTrail.Stored
    let tag: RowTag?

    /// The columns of `audit_log`.
    enum Column: String, TaggedColumn {
        case sequence, time, fields, hash, kind, requestID = "request_id", accessor, displayName = "display_name", path
        case operation, decision, status, authTerm = "auth_term", authTag = "auth_tag"
    }

    init(row: SQLRow) throws {
        let time: Date = try row.decode(Column.time)
        let fields = try AuditEntry.decodeFields(try row.decode(Column.fields))
        let record = AuditRecord(sequence: try row.decode(Column.sequence), time: time, fields: fields, hash: try row.decode(Column.hash))
        let entry = AuditEntry(
            kind: AuditEntry.Kind(rawValue: try row.decode(Column.kind)) ?? .request, time: time,
            requestID: try row.decode(Column.requestID), accessor: try row.decode(Column.accessor),
            displayName: try row.decode(Column.displayName), path: try row.decode(Column.path),
            operation: try row.decode(Column.operation), decision: try row.decode(Column.decision),
            status: Int(try row.decode(Column.status, as: Int64.self)), extra: [])
        stored = AuditTrail.Stored(record: record, entry: entry)
        tag = try row.tag(Column.self)
    }

    var authenticated: AuthenticatedRow { AuditLog.authenticated(sequence: stored.record.sequence, hash: stored.record.hash) }
}

/// An `audit_log` row as rewrap re-tags it: only what the tag covers (the sequence and the chained hash).
struct AuditTagRecord: TaggedRecord {
    let sequence: Int64
    let hash: [UInt8]
    let tag: RowTag?

    enum Column: String, TaggedColumn { case sequence, hash, authTerm = "auth_term", authTag = "auth_tag" }

    init(row: SQLRow) throws {
        sequence = try row.decode(Column.sequence)
        hash = try row.decode(Column.hash)
        tag = try row.tag(Column.self)
    }

    var authenticated: AuthenticatedRow { AuditLog.authenticated(sequence: sequence, hash: hash) }
}

/// The `audit_head` row: the newest entry's sequence and hash, which every append locks first.
struct AuditHeadRecord: SQLRecord {
    let sequence: Int64
    let hash: [UInt8]

    enum Column: String, SQLColumn, CodingKey { case sequence, hash }
    typealias CodingKeys = Column
}

/// An `audit_checkpoints` row.
extension AuditCheckpoint: SQLRowDecodable {
    /// The columns of `audit_checkpoints`.
    enum Column: String, SQLColumn { case sequence, head, time, signature, previous }

    public init(row: SQLRow) throws {
        self.init(
            sequence: try row.decode(Column.sequence), head: try row.decode(Column.head), time: try row.decode(Column.time),
            signature: try row.decode(Column.signature), previous: try row.decode(Column.previous))
    }
}
