import CofferFoundation
public import CofferKeys
public import CofferStore
public import Foundation

/// Reading the audit trail: queries for the security team, export, and verification.
public struct AuditTrail: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    /// Filters of `coffer audit query`; every one is optional and they combine with AND.
    public struct Filter: Sendable {
        public var accessor: String?
        public var displayName: String?
        /// A policy-style glob: `secret/data/app/*`, `+` for one segment.
        public var pathGlob: String?
        public var operation: String?
        public var decision: String?
        public var status: Int?
        public var since: Date?
        public var until: Date?
        /// Only entries after this sequence number (for `tail -f` and paging).
        public var afterSequence: Int64?
        public var limit: Int

        public init(
            accessor: String? = nil, displayName: String? = nil, pathGlob: String? = nil, operation: String? = nil,
            decision: String? = nil, status: Int? = nil, since: Date? = nil, until: Date? = nil,
            afterSequence: Int64? = nil, limit: Int = 100
        ) {
            self.accessor = accessor
            self.displayName = displayName
            self.pathGlob = pathGlob
            self.operation = operation
            self.decision = decision
            self.status = status
            self.since = since
            self.until = until
            self.afterSequence = afterSequence
            self.limit = limit
        }
    }

    /// A stored entry with its place in the chain.
    public struct Stored: Sendable {
        public let record: AuditRecord
        public let entry: AuditEntry

        package init(record: AuditRecord, entry: AuditEntry) {
            self.record = record
            self.entry = entry
        }

        /// One JSON object: sequence, time, hash and every field (the export and `query` format).
        public var json: String {
            var object: [String: String] = [:]
            for (key, value) in record.fields { object[key] = value }
            object["sequence"] = String(record.sequence)
            object["time"] = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(record.time)
            object["time_us"] = String(record.time.microsecondsSinceEpoch)
            object["hash"] = Hex.encode(record.hash)
            object["fields"] = String(decoding: (try? JSONEncoder().encode(record.fields.map { [$0.0, $0.1] })) ?? Data(), as: UTF8.self)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: (try? encoder.encode(object)) ?? Data(), as: UTF8.self)
        }

        /// Parses a line of ``json`` (offline verification of an export).
        public static func parse(json line: String) throws -> AuditRecord {
            guard let object = try? JSONDecoder().decode([String: String].self, from: Data(line.utf8)),
                let sequence = object["sequence"].flatMap(Int64.init), let micros = object["time_us"].flatMap(Int64.init),
                let hash = object["hash"].flatMap(Hex.decode), let fieldsText = object["fields"]
            else { throw AccessError(.invalidRequest, "an export line is not an audit entry (expected the JSON of `coffer audit export`)") }
            let fields = try AuditEntry.decodeFields(fieldsText)
            // The top-level copies of the fields are what a reader sees first: one that disagrees with the
            // hashed fields makes the entry count as altered (an empty hash never verifies).
            let consistent = fields.allSatisfy { key, value in object[key].map { $0 == value } ?? true }
            return AuditRecord(
                sequence: sequence, time: Date(microsecondsSinceEpoch: micros),
                fields: fields, hash: consistent ? hash : [])
        }
    }

    /// The select of `filter`'s indexed conditions (the path glob is matched after, in Swift).
    private static func selection(_ filter: Filter) -> SQLQuery {
        var query: SQLQuery = "SELECT \(columns: AuditLogRecord.Column.self) FROM audit_log WHERE 1 = 1"
        if let value = filter.accessor { query.append(" AND accessor = \(value)") }
        if let value = filter.displayName { query.append(" AND display_name = \(value)") }
        if let value = filter.operation { query.append(" AND operation = \(value)") }
        if let value = filter.decision { query.append(" AND decision = \(value)") }
        if let value = filter.status { query.append(" AND status = \(value)") }
        if let value = filter.since { query.append(" AND time >= \(value)") }
        if let value = filter.until { query.append(" AND time <= \(value)") }
        if let value = filter.afterSequence { query.append(" AND sequence > \(value)") }
        return query
    }

    /// The newest `filter.limit` entries matching `filter`, newest first (the console's page: what just
    /// happened, however long the trail).
    public func newest(_ filter: Filter) async throws -> [Stored] {
        try await scan(filter, newestFirst: true)
    }

    /// Entries matching `filter`, oldest first.
    public func query(_ filter: Filter) async throws -> [Stored] {
        try await scan(filter, newestFirst: false)
    }

    /// Pages of 1,000 rows through the indexed filters, from the oldest (after `afterSequence`) or the newest; the
    /// glob is matched here, after them, and the limit counts matches only.
    private func scan(_ filter: Filter, newestFirst: Bool) async throws -> [Stored] {
        let query = Self.selection(filter)
        let pattern = try filter.pathGlob.map { try PathPattern($0) }
        var results: [Stored] = []
        var cursor = newestFirst ? Int64.max : filter.afterSequence ?? 0
        let limit = max(1, min(filter.limit, 10_000))
        while results.count < limit {
            var page = query
            page.append(
                newestFirst
                    ? " AND sequence < \(cursor) ORDER BY sequence DESC LIMIT 1000"
                    : " AND sequence > \(cursor) ORDER BY sequence LIMIT 1000")
            let rows = try await database.query(page)
            for row in rows {
                let stored = try AuditLogRecord(row: row).stored
                cursor = stored.record.sequence
                if let pattern, !pattern.matches(stored.entry.path) { continue }
                results.append(stored)
                if results.count == limit { break }
            }
            if rows.count < 1000 { break }
        }
        return results
    }

    /// Every entry from `after` on, page by page, oldest first (export and verification).
    public func forEach(after: Int64 = 0, _ body: (Stored) throws -> Void) async throws {
        try await forEach(after: after, upTo: nil) { stored, _ in try body(stored) }
    }

    /// The stored checkpoints up to `sequence` (all when `nil`), oldest first.
    public func checkpoints(upTo sequence: Int64? = nil) async throws -> [AuditCheckpoint] {
        try await database.query(
            "SELECT \(columns: AuditCheckpoint.Column.self) FROM audit_checkpoints WHERE sequence <= \(sequence ?? .max) ORDER BY sequence"
        ).map(AuditCheckpoint.init(row:))
    }

    /// The newest checkpoint's sequence (0 when there is none).
    public func newestCheckpoint() async throws -> Int64 {
        try await database.read { try $0.queryScalar(Int64.self, "SELECT coalesce(max(sequence), 0) FROM audit_checkpoints") ?? 0 }
    }

    /// The archived segments (``AuditSegment``), oldest first.
    public func segments() async throws -> [AuditSegment] {
        try await database.read { conn in
            try conn.query(AuditSegment.self, "SELECT \(columns: AuditSegment.Column.self) FROM audit_segments ORDER BY first_sequence")
        }
    }

    /// Verifies the trail up to `sequence` (every entry when `nil`): the archive's seals (and the files of
    /// theirs `archive` holds), then the live table from where the archive ends: the chain, the query columns
    /// against the hashed fields, each entry's tag (with `sealer`, the service's keyring), the checkpoints and
    /// their order, and every `witnessed` checkpoint from outside the database.
    /// - Parameter requireCoverage: the newest checkpoint must cover the last entry checked (the service signs
    ///   one at every commit, so an uncovered entry up to `sequence` was written by someone else).
    public func verify(
        publicKey: [UInt8], witnessed: [AuditCheckpoint], sealer: Sealer? = nil, upTo sequence: Int64? = nil,
        requireCoverage: Bool = false, archive: AuditArchive? = nil
    ) async throws -> AuditChain.Report {
        let segments = try await segments()
        // Without a folder to read, the seals are still checked.
        let archived = try AuditArchive.verify(segments, files: archive, publicKey: publicKey, witnessed: witnessed)
        guard archived.report.finding.isIntact else { return archived.report }
        let live = try await stretch(upTo: sequence)
        var report = try AuditChain.verify(
            live.records, tags: live.tags, checkpoints: try await checkpoints(upTo: sequence), witnessed: witnessed,
            publicKey: publicKey, requireCoverage: requireCoverage, start: archived.end, authenticate: sealer.map(Self.authenticator))
        if let mismatch = live.mismatch, report.finding.firstSequence.map({ mismatch <= $0 }) ?? true {
            report.finding = .altered(sequence: mismatch)
        }
        report.witnessRecords += archived.report.witnessRecords
        report.segments = archived.report.segments
        report.segmentFiles = archived.report.segmentFiles
        report.archivedEntries = archived.report.archivedEntries
        report.missingSegmentFiles = archived.report.missingSegmentFiles
        return report
    }

    /// Stored entries with their tags, and the first whose query columns disagree with its hashed fields: what
    /// verification and archiving both check.
    struct Stretch {
        var entries: [Stored] = []
        var tags: [RowTag?] = []
        var mismatch: Int64?
        var records: [AuditRecord] { entries.map(\.record) }
    }

    /// The stored entries after `after` and up to `sequence` (every one when `nil`), in order.
    func stretch(after: Int64 = 0, upTo sequence: Int64?) async throws -> Stretch {
        var stretch = Stretch()
        try await forEach(after: after, upTo: sequence) { stored, tag in
            stretch.entries.append(stored)
            stretch.tags.append(tag)
            if stretch.mismatch == nil, !stored.columnsMatchFields { stretch.mismatch = stored.record.sequence }
        }
        return stretch
    }

    /// Checks an entry's tag with the keyring (``AuditLog/authenticated(sequence:hash:)``).
    static func authenticator(_ sealer: Sealer) -> (AuditRecord, RowTag) -> Bool {
        { record, tag in sealer.isAuthentic(AuditLog.authenticated(sequence: record.sequence, hash: record.hash), tag) }
    }

    /// Every stored entry after `after` and up to `sequence`, with its tag, in order.
    func forEach(after: Int64 = 0, upTo sequence: Int64?, _ body: (Stored, RowTag?) throws -> Void) async throws {
        var after = after
        let limit = sequence ?? .max
        while true {
            let rows = try await database.query(
                """
                SELECT \(columns: AuditLogRecord.Column.self)
                FROM audit_log WHERE sequence > \(after) AND sequence <= \(limit) ORDER BY sequence LIMIT 2000
                """)
            for row in rows {
                let record = try AuditLogRecord(row: row)
                try body(record.stored, record.tag)
                after = record.stored.record.sequence
            }
            if rows.count < 2000 { return }
        }
    }
}

extension AuditTrail.Stored {
    /// Whether the query columns say what the hashed fields say.
    var columnsMatchFields: Bool {
        guard let hashed = AuditEntry(time: record.time, fields: record.fields) else { return false }
        return hashed.kind == entry.kind && hashed.requestID == entry.requestID && hashed.accessor == entry.accessor
            && hashed.displayName == entry.displayName && hashed.path == entry.path && hashed.operation == entry.operation
            && hashed.decision == entry.decision && hashed.status == entry.status
    }
}
