package import CofferFoundation

/// Answers of the Gate's own reports as a client reads them (the wire's field names).
package enum Trail {
    /// `sys/audit-trail/hash`: a value as the trail records it.
    package struct Hash: Decodable { package let hash: String }

    /// `sys/audit-trail/entries`: entries as flat objects (`auth.client_token`, `request.path`, …).
    package struct Entries: Decodable { package let entries: [[String: JSONValue]] }

    /// `sys/audit-trail/verify`.
    package struct Verification: Decodable {
        package let intact: Bool
        package let finding: String
        package let tags: Int
        package let checkpoints: Int
        package let witnessRecords: Int
        package let firstBadSequence: Int?
        /// The archive: segments whose seal was checked, those whose file was read, the entries recomputed
        /// from them, and the folder (`nil` without one).
        package let segments: Int
        package let segmentFiles: Int
        package let archivedEntries: Int
        package let archive: String?

        enum CodingKeys: String, CodingKey {
            case intact, finding, tags, checkpoints, segments, archive
            case witnessRecords = "witness_records", firstBadSequence = "first_bad_sequence"
            case segmentFiles = "segment_files", archivedEntries = "archived_entries"
        }
    }
}

/// `sys/health`'s `integrity`: stored rows refused since the process started.
package struct Integrity: Decodable {
    package let ok: Bool
    package let refusedRows: Int

    enum CodingKeys: String, CodingKey {
        case ok
        case refusedRows = "refused_rows"
    }

    /// The health answer around it.
    package struct Health: Decodable { package let integrity: Integrity }

    /// `sys/health`'s `audit`: whether the trail is taking entries.
    package struct AuditHealth: Decodable {
        package struct Audit: Decodable { package let ok: Bool }
        package let audit: Audit
    }
}
