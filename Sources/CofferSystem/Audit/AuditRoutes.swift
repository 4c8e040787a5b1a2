public import CofferAccess
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `sys/audit-trail/*`: query, export, verify and hash, behind the `audit` capability (the `auditor`
/// policy grants it and nothing else).
public struct AuditRoutes: Sendable {
    let gate: Gate
    /// The trail and how this instance verifies it (its witness file and archive folder).
    let check: AuditSelfCheck
    var trail: AuditTrail { check.trail }

    /// The routes over the trail `check` verifies; ``register(on:)`` adds them to a router.
    public init(gate: Gate, check: AuditSelfCheck) {
        self.gate = gate
        self.check = check
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        let audit = GatedRouter.Access.gated(sudo: false, extra: .audit)
        router.on("/v1/sys/audit-trail/entries", method: .get, access: audit) { request, _, _ in
            let filter = try Self.filter(request.uri.queryParameters)
            let entries = try await trail.query(filter).map(\.json)
            // Entries are JSON objects already; they are spliced in, not re-encoded as strings.
            let body = "{\"data\":{\"entries\":[" + entries.joined(separator: ",") + "]}}"
            return Self.json(body)
        }
        router.on("/v1/sys/audit-trail/export", method: .get, access: audit) { request, _, _ in
            let after =
                try request.uri.queryParameters["after"].map { text -> Int64 in
                    guard let value = Int64(text), value >= 0 else {
                        throw APIError(.badRequest, "after must be a sequence number (0 or more)")
                    }
                    return value
                } ?? 0
            var lines = ""
            try await trail.forEach(after: after) { lines += $0.json + "\n" }
            var headers = HTTPFields()
            headers[.contentType] = "application/x-ndjson"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: lines)))
        }
        router.on("/v1/sys/audit-trail/checkpoints", method: .get, access: audit) { _, _, _ in
            let lines = try await trail.checkpoints().map { AuditCheckpointLine($0).json }
            return Self.json("{\"data\":{\"checkpoints\":[" + lines.joined(separator: ",") + "]}}")
        }
        router.on("/v1/sys/audit-trail/verify", method: .get, access: audit) { _, _, grant in
            let outcome = try await check.run(grant, gate: gate)
            let report = outcome.report
            return VaultJSON.response(
                status: .ok,
                VerifyBody(
                    data: .init(
                        intact: report.finding.isIntact, finding: report.finding.description, entries: report.entries, tags: report.tags,
                        checkpoints: report.checkpoints, witness_records: report.witnessRecords,
                        first_bad_sequence: report.firstBadSequence,
                        witness: check.witnessFile ?? "none readable (the witness is the service log or standard output)",
                        witnessed_sequence: outcome.witnessedSequence, segments: report.segments, segment_files: report.segmentFiles,
                        archived_entries: report.archivedEntries, missing_segment_files: report.missingSegmentFiles,
                        archive: check.archive?.directory)))
        }
        router.on("/v1/sys/audit-trail/public-key", method: .get, access: audit) { _, _, _ in
            VaultJSON.response(status: .ok, ["data": ["public_key": Hex.encode(try await gate.auditPublicKey())]])
        }
        router.onWrite("/v1/sys/audit-trail/hash", access: audit) { request, context, _ in
            let body = try await Body.decode(HashBody.self, request, context)
            guard let input = body.input else {
                throw APIError(.badRequest, "input is required: the value to hash as the audit trail does")
            }
            return VaultJSON.response(status: .ok, ["data": ["hash": try await gate.auditHash(input)]])
        }
    }

    package struct HashBody: Decodable { var input: String? }

    struct VerifyBody: Encodable {
        struct Data: Encodable {
            let intact: Bool
            let finding: String
            /// What was checked: entries (hashes), tags, checkpoints from the database, witness records.
            let entries: Int64
            let tags: Int64
            let checkpoints: Int
            let witness_records: Int
            let first_bad_sequence: Int64?
            let witness: String
            let witnessed_sequence: Int64?
            /// Archived segments whose seal was checked, those whose file was read, and the entries recomputed from them.
            let segments: Int
            let segment_files: Int
            let archived_entries: Int64
            let missing_segment_files: [String]
            let archive: String?
        }
        let data: Data
    }

    static func json(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The query's filters: `accessor`, `display_name`, `path` (a policy glob), `operation`, `decision`,
    /// `status`, `since` and `until` (RFC 3339), `after` (sequence), `limit` (1 to 10000, default 100).
    static func filter(_ query: Parameters) throws -> AuditTrail.Filter {
        func text(_ key: String) -> String? { query[key[...]].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        func time(_ key: String) throws -> Date? {
            guard let value = text(key) else { return nil }
            if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(value) { return date }
            if let date = try? Date.ISO8601FormatStyle().parse(value) { return date }
            throw APIError(.badRequest, "\(key) must be an RFC 3339 time such as 2026-11-25T12:00:00Z")
        }
        func number(_ key: String, _ range: ClosedRange<Int64>) throws -> Int64? {
            guard let value = text(key) else { return nil }
            guard let parsed = Int64(value), range.contains(parsed) else {
                throw APIError(.badRequest, "\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return parsed
        }
        if let glob = text("path") {
            do { _ = try PathPattern(glob) } catch { throw APIError(.badRequest, "path must be a policy-style glob: \(error)") }
        }
        if let decision = text("decision"), !["allow", "deny", "open", "error"].contains(decision) {
            throw APIError(.badRequest, "decision must be allow, deny, open or error")
        }
        return AuditTrail.Filter(
            accessor: text("accessor"), displayName: text("display_name"), pathGlob: text("path"),
            operation: text("operation"), decision: text("decision"), status: try number("status", 100...599).map(Int.init),
            since: try time("since"), until: try time("until"), afterSequence: try number("after", 0...Int64.max),
            limit: Int(try number("limit", 1...10_000) ?? 100))
    }
}
