public import CofferCrypto
import CofferFoundation
public import CofferKeys
import CofferStore
public import Foundation

extension AuditTrail {
    /// Most entries in one segment: one file, and one transaction that deletes them. The stretch is held in memory
    /// while it is verified and sealed (an entry's export line is a few hundred bytes), so this bounds that too.
    public static let segmentLimit: Int64 = 50_000

    /// Archives the oldest live entries written before `cutoff` into one sealed segment file in `archive`, then
    /// deletes them (and their checkpoints) from the database; returns the segment, or `nil` when no
    /// checkpointed stretch is older than `cutoff`.
    ///
    /// The stretch is verified first, exactly as `verify` does (chain, columns, tags, checkpoints): a segment's
    /// signature vouches for its content, so sealing entries a database writer had altered would launder them.
    /// A stretch that does not verify is left in place and the error names the finding (unless another instance
    /// archived it meanwhile, which returns `nil`).
    ///
    /// The segment row and the deletion commit together, and the row's first sequence is its key: when two
    /// instances seal the same stretch at once, one commits and the other deletes nothing. Both wrote the
    /// same bytes under the same name (the seal's time is the last checkpoint's), so either file will do.
    /// - Throws: ``AccessError`` `.conflict` when the stretch does not verify; `.auditUnavailable` when the file
    ///   cannot be written.
    public func archive(
        into archive: AuditArchive, before cutoff: Date, signer: SigningKeyHandle, sealer: Sealer, limit: Int64 = segmentLimit
    ) async throws -> AuditSegment? {
        let start = try await segments().last?.end ?? .genesis
        // A segment ends on a checkpoint, so the stretch after it begins where a checkpoint list can continue.
        let last = try await database.read { connection in
            try connection.queryScalar(
                Int64.self,
                """
                SELECT coalesce(max(c.sequence), 0) FROM audit_checkpoints c JOIN audit_log l ON l.sequence = c.sequence
                WHERE c.sequence > \(start.sequence) AND c.sequence <= \(start.sequence + max(1, limit)) AND l.time < \(cutoff)
                """) ?? 0
        }
        guard last > start.sequence else { return nil }
        let stretch = try await stretch(after: start.sequence, upTo: last)
        let records = stretch.records
        let checkpoints = try await self.checkpoints(upTo: last).filter { $0.sequence > start.sequence }
        var report = try AuditChain.verify(
            records, tags: stretch.tags, checkpoints: checkpoints, witnessed: [], publicKey: signer.key.publicKey, requireCoverage: true,
            start: start, authenticate: Self.authenticator(sealer))
        if let mismatch = stretch.mismatch { report.finding = .altered(sequence: mismatch) }
        guard report.finding.isIntact, let head = records.last?.hash, let sealedAt = checkpoints.last?.time else {
            // Another instance archived from the same place while this one read (its deletion shows as a gap):
            // nothing is wrong, and the next pass goes on from its segment.
            if try await segments().last?.end ?? .genesis != start { return nil }
            throw AccessError(
                .conflict,
                "entries \(start.sequence + 1)…\(last) were not archived because they do not verify: \(report.finding); "
                    + "run `coffer audit verify`"
            )
        }
        let body = AuditSegmentFile.body(entries: stretch.entries.map(\.json), checkpoints: checkpoints)
        let segment = AuditSegment.sealed(
            first: start.sequence + 1, last: last, anchor: start.head, head: head, digest: try BLAKE2b.hash(body, length: 32),
            time: sealedAt, signer: signer.key)
        try archive.write(body + AuditSegmentFile.sealLine(segment), as: segment.file)
        let committed = try await database.transaction { connection -> Bool in
            let inserted = try connection.execute(
                """
                INSERT INTO audit_segments (first_sequence, last_sequence, anchor, head, digest, time, file, signature)
                VALUES (\(segment.first), \(segment.last), \(segment.anchor), \(segment.head), \(segment.digest), \(segment.time),
                \(segment.file), \(segment.signature))
                ON CONFLICT (first_sequence) DO NOTHING
                """)
            guard inserted == 1 else { return false }
            // The checkpoint at the segment's last entry stays: the writer's next checkpoint names it as its predecessor.
            _ = try connection.execute("DELETE FROM audit_checkpoints WHERE sequence < \(segment.last)")
            _ = try connection.execute("DELETE FROM audit_log WHERE sequence >= \(segment.first) AND sequence <= \(segment.last)")
            return true
        }
        guard committed else {
            // Another instance sealed a stretch from the same entry first; a file of a different length is ours alone.
            let winner = try await segments().first { $0.first == segment.first }
            if winner?.file != segment.file { unlink(archive.path(of: segment)) }
            return nil
        }
        return segment
    }
}
