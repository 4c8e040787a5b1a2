import CofferAccess
import CofferFoundation
import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The audit trail's pages, for a token with `audit` (the `auditor` policy): the entries filtered by path glob,
/// accessor, operation and time (`read sys/audit-trail/entries`), the chain's verification
/// (`read sys/audit-trail/verify`, the check `coffer audit verify` asks the service for), and an export of the
/// filtered entries as NDJSON (`read sys/audit-trail/export`), each line as the API's export writes it (a filtered
/// export has gaps, so it is for reading; `coffer audit export` gives the whole chain for offline verification).
extension ConsoleRoutes {
    static let auditPage = Page(
        label: "Audit trail", href: "/ui/audit", path: "sys/audit-trail/entries", operation: .read, extra: .audit)
    /// The entries a page lists, newest first, and the most an export holds (the API's query limit).
    static let auditPageRows = 200
    static let auditExportRows = 10_000

    func registerAudit(on router: Router<CofferRequestContext>) {
        router.get("/ui/audit") { request, context in
            try await page(request, context, Self.auditPage) { token, _ in
                try await auditEntries(token: token, filter: try AuditView(request.uri.queryParameters), context: context)
            }
        }
        router.get("/ui/audit/verify") { request, context in
            try await page(request, context, Self.auditPage) { token, _ in try await auditVerify(token: token, context: context) }
        }
        router.get("/ui/audit/export") { request, context in
            try await auditExport(request, context)
        }
    }

    /// The filters the audit page and its export share, read once from the address: blank fields are no filter,
    /// `hours` is clamped to 1 hour … 1 year, and a path must be a policy-style glob.
    struct AuditView {
        var path: String?
        var accessor: String?
        var operation: String?
        var hours: Int

        init(_ query: Parameters) throws {
            func text(_ name: String) -> String? {
                query[Substring(name)].map(String.init).flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
            }
            path = text("path")
            accessor = text("accessor")
            operation = text("operation")
            hours = text("hours").flatMap(Int.init).map { min(max($0, 1), 24 * 365) } ?? 24
            if let path {
                do { _ = try PathPattern(path) } catch {
                    throw APIError(.badRequest, "the path filter must be a policy-style glob such as secret/data/app/*: \(error)")
                }
            }
        }

        func filter(limit: Int, now: Date = Date()) -> AuditTrail.Filter {
            AuditTrail.Filter(
                accessor: accessor, pathGlob: path, operation: operation, since: now.addingTimeInterval(-Double(hours) * 3600),
                limit: limit)
        }

        /// The same filters as an address query (for the export link).
        var query: String {
            var items = [URLQueryItem(name: "hours", value: String(hours))]
            for (name, value) in [("path", path), ("accessor", accessor), ("operation", operation)] {
                if let value { items.append(URLQueryItem(name: name, value: value)) }
            }
            var components = URLComponents()
            components.queryItems = items
            return components.percentEncodedQuery ?? ""
        }
    }

    private func auditEntries(token: String, filter view: AuditView, context: CofferRequestContext) async throws -> String {
        let entries = try await gate.perform(request(token, Self.auditPage, context), status: { _ in 200 }) { grant in
            try await audit.trail.newest(view.filter(limit: Self.auditPageRows + 1))
        }
        let newest = entries.prefix(Self.auditPageRows)
        return Self.render(
            ConsoleTemplates.audit,
            [
                "path": view.path ?? "", "accessor": view.accessor ?? "", "operation": view.operation ?? "",
                "hours": String(view.hours), "exportQuery": view.query,
                "count": newest.count, "capped": entries.count > Self.auditPageRows, "exportRows": Self.auditExportRows,
                "entries": newest.map { stored -> [String: Any] in
                    let entry = stored.entry
                    return [
                        "sequence": String(stored.record.sequence), "time": Self.time(entry.time),
                        "who": entry.displayName.isEmpty ? entry.accessor : entry.displayName, "operation": entry.operation,
                        "path": entry.path, "decision": entry.decision, "status": String(entry.status)
                    ]
                }
            ])
    }

    private func auditVerify(token: String, context: CofferRequestContext) async throws -> String {
        let verify = GateRequest(
            token: token, path: "sys/audit-trail/verify", operation: .read, requestID: UUID().uuidString,
            remoteAddress: context.remoteAddress, extraCapabilities: .audit)
        let outcome = try await gate.perform(verify, status: { _ in 200 }) { grant in try await audit.run(grant, gate: gate) }
        let report = outcome.report
        var values: [String: Any] = [
            "intact": report.finding.isIntact, "finding": report.finding.description, "entries": String(report.entries),
            "tags": String(report.tags), "checkpoints": String(report.checkpoints), "witnessRecords": String(report.witnessRecords),
            "segments": String(report.segments), "segmentFiles": String(report.segmentFiles),
            "archivedEntries": String(report.archivedEntries), "missing": report.missingSegmentFiles,
            "hasMissing": !report.missingSegmentFiles.isEmpty,
            "witness": audit.witnessFile ?? "none readable by the service (the witness is its log or standard output)",
            "archive": audit.archive?.directory ?? "none"
        ]
        // Mustache draws a section for an empty string too: absent facts get no key.
        if let bad = report.firstBadSequence { values["firstBad"] = String(bad) }
        if let witnessed = outcome.witnessedSequence { values["witnessed"] = String(witnessed) }
        return Self.render(ConsoleTemplates.auditVerify, values)
    }

    /// The filtered entries as an NDJSON attachment, oldest first; a refusal or bad filter is the usual page.
    private func auditExport(_ request: Request, _ context: CofferRequestContext) async throws -> Response {
        guard let (_, session) = signedIn(request, context) else {
            return Self.redirect("/ui/sign-in")
        }
        let token = session.tokenText
        do {
            let view = try AuditView(request.uri.queryParameters)
            let export = GateRequest(
                token: token, path: "sys/audit-trail/export", operation: .read, requestID: UUID().uuidString,
                remoteAddress: context.remoteAddress, extraCapabilities: .audit)
            let lines = try await gate.perform(export, status: { _ in 200 }) { grant in
                try await audit.trail.query(view.filter(limit: Self.auditExportRows)).map(\.json)
            }
            let stamp = Self.time(Date()).replacingOccurrences(of: ":", with: "")
            var response = Self.answer(
                .ok, contentType: "application/x-ndjson", body: lines.map { $0 + "\n" }.joined(), cacheable: false)
            response.headers[.contentDisposition] = "attachment; filename=\"coffer-audit-\(stamp).ndjson\""
            return response
        } catch {
            // The page machinery draws the refusal (403, 400, 503) with the navigation, as for any other page.
            return try await page(request, context, Self.auditPage) { _, _ in throw error }
        }
    }
}
