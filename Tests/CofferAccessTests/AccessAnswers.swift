/// Answers of the Gate's own reports as a client reads them (the wire's field names).
enum Trail {
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
}
