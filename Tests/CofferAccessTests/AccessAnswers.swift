import CofferFoundation

/// Answers of the Gate's own reports as a client reads them (the wire's field names).
enum Trail {
    /// `sys/audit-trail/hash`: a value as the trail records it.
    struct Hash: Decodable { let hash: String }

    /// `sys/audit-trail/entries`: entries as flat objects (`auth.client_token`, `request.path`, …).
    struct Entries: Decodable { let entries: [[String: JSONValue]] }

    /// `sys/audit-trail/verify`.
    struct Verification: Decodable {
        let intact: Bool
        let finding: String
        let tags: Int
        let checkpoints: Int
        let witnessRecords: Int
        let firstBadSequence: Int?

        enum CodingKeys: String, CodingKey {
            case intact, finding, tags, checkpoints
            case witnessRecords = "witness_records", firstBadSequence = "first_bad_sequence"
        }
    }
}

/// `sys/health`'s `integrity`: stored rows refused since the process started.
struct Integrity: Decodable {
    let ok: Bool
    let refusedRows: Int

    enum CodingKeys: String, CodingKey {
        case ok
        case refusedRows = "refused_rows"
    }

    /// The health answer around it.
    struct Health: Decodable { let integrity: Integrity }

    /// `sys/health`'s `audit`: whether the trail is taking entries.
    struct AuditHealth: Decodable {
        struct Audit: Decodable { let ok: Bool }
        let audit: Audit
    }
}
