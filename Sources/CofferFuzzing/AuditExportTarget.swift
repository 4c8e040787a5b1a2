import CofferAccess
import CofferCrypto
import Foundation

/// `coffer audit verify --file`: an export (JSON lines) and witness lines, read and verified offline.
enum AuditExportTarget {
    /// A real three-entry trail, its export lines, and a signed checkpoint of its head: what the verifier is
    /// given besides the input, as an operator gives `--witness`.
    struct Trail: Sendable {
        let records: [AuditRecord]
        let lines: [String]
        let checkpoint: AuditCheckpoint
        let publicKey: [UInt8]
    }

    static let trail: Trail = {
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        var records: [AuditRecord] = [], lines: [String] = [], previous = AuditChain.genesis
        for (index, (kind, status)) in [(AuditEntry.Kind.request, 0), (.response, 200), (.request, 0)].enumerated() {
            let entry = AuditEntry(
                kind: kind, time: time.addingTimeInterval(Double(index)), requestID: "req-\(index / 2)", accessor: "acc-fuzz",
                displayName: "token-fuzz", path: "secret/data/app/db", operation: "read", decision: "allow", status: status,
                extra: [("remote_address", "127.0.0.1")])
            let record = try! AuditChain.chained(
                AuditRecord(sequence: Int64(index + 1), time: entry.time, fields: entry.fields), previous: previous)
            previous = record.hash
            records.append(record)
            lines.append(AuditTrail.Stored(record: record, entry: entry).json)
        }
        let signer = try! Ed25519SigningKey(seed: SecureBytes(copying: [UInt8](repeating: 7, count: Ed25519SigningKey.seedBytes)))
        let checkpoint = AuditChain.checkpoint(sequence: 3, head: previous, time: time.addingTimeInterval(3), signer: signer)
        return Trail(records: records, lines: lines, checkpoint: checkpoint, publicKey: signer.publicKey)
    }()

    static let target = FuzzTarget(
        "audit-export",
        "an audit export with witness lines, verified offline against a signed checkpoint of a real trail: every "
            + "line is read or refused, and a trail reported intact holds only the real entries, unchanged",
        seeds: [
            Data(trail.lines.joined(separator: "\n").utf8),
            Data((trail.lines + [AuditCheckpointLine(trail.checkpoint).json]).joined(separator: "\n").utf8)
        ]
    ) { input throws(FuzzFinding) in
        var records: [AuditRecord] = [], witnessed = [trail.checkpoint]
        for line in input.text.split(separator: "\n") where !line.isEmpty {
            if let record = try? AuditTrail.Stored.parse(json: String(line)) {
                records.append(record)
            } else if let checkpoint = (try? JSONDecoder().decode(AuditCheckpointLine.self, from: Data(line.utf8)))?.checkpoint {
                witnessed.append(checkpoint)
            } else {
                return // the verifier refuses the file
            }
        }
        guard
            let report = try? AuditChain.verify(records, checkpoints: [], witnessed: witnessed, publicKey: trail.publicKey),
            report.finding.isIntact
        else { return }
        for record in records {
            let index = Int(record.sequence) - 1
            try require(
                trail.records.indices.contains(index) && trail.records[index] == record,
                "entry \(record.sequence) verified as intact but is not the entry the checkpoint covers")
        }
    }
}
