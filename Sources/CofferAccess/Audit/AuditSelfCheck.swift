/// The service's check of its own trail, as `sys/audit-trail/verify` and the console's audit page run it: the
/// archive's seals (and the segment files this instance holds), the live table, each entry's tag, the signed
/// checkpoints, and the witness file when the service writes one. One procedure, so the API and the page can
/// never disagree on what "intact" means.
public struct AuditSelfCheck: Sendable {
    public let trail: AuditTrail
    /// The witness file the service writes checkpoints to, if any: verification compares the trail with it.
    public let witnessFile: String?
    /// The folder of archived segments, if this instance has one: verification reads the files it holds.
    public let archive: AuditArchive?

    public init(trail: AuditTrail, witnessFile: String?, archive: AuditArchive?) {
        self.trail = trail
        self.witnessFile = witnessFile
        self.archive = archive
    }

    /// What one check found.
    public struct Outcome: Sendable {
        public let report: AuditChain.Report
        /// The newest checkpoint the witness file holds, `nil` without one.
        public let witnessedSequence: Int64?
    }

    /// Verifies the trail for the caller `grant` names (who must hold `audit`; the Gate decided that).
    ///
    /// A committed entry comes first: its commit signs a checkpoint of the head, so every entry up to it must be
    /// covered, and one written around the service (no tag, no checkpoint) shows.
    public func run(_ grant: Grant, gate: Gate) async throws -> Outcome {
        try await gate.recordEvent(grant, path: "sys/audit-trail/verify", operation: "audit.verify", fields: [])
        let covered = try await trail.newestCheckpoint()
        let witnessed = try witnessFile.map { try AuditWitnessFile.all(in: $0) } ?? []
        let upTo = max(covered, witnessed.map(\.sequence).max() ?? 0)
        let report = try await trail.verify(
            publicKey: try await gate.auditPublicKey(), witnessed: witnessed, sealer: try gate.sealer(), upTo: upTo,
            requireCoverage: true, archive: archive)
        return Outcome(report: report, witnessedSequence: witnessed.map(\.sequence).max())
    }
}
