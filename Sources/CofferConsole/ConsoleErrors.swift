import CofferAccess
import CofferErrorLog
import CofferFoundation
import CofferHTTP
import Foundation
import Hummingbird

/// The error issues page: issues by status (`read coffer/errors/issues`), with Resolve, Ignore and Reopen where
/// the token may (`update coffer/errors/issues/<id>/<action>`, the requests `coffer errors resolve|ignore|reopen`
/// make), each a form with the session's CSRF token.
extension ConsoleRoutes {
    static let errorsPage = Page(label: "Errors", href: "/ui/errors", path: "coffer/errors/issues", operation: .read, extra: [])
    static let issueActions = ["resolve", "ignore", "reopen"]

    func registerErrors(on router: Router<CofferRequestContext>) {
        router.get("/ui/errors") { request, context in
            try await page(request, context, Self.errorsPage) { token, session in
                let status = request.uri.queryParameters["status"].flatMap { IssueStatus(rawValue: String($0)) } ?? .unresolved
                return try await errorsPage(token: token, csrf: session.csrf, status: status, context: context)
            }
        }
        formAction(on: router, "/ui/errors/action", Self.errorsPage) { token, form, context in
            try await issueAction(token: token, id: form.id ?? "", action: form.action ?? "", context: context)
        }
    }

    private func errorsPage(token: String, csrf: String, status: IssueStatus, context: CofferRequestContext) async throws -> String {
        let issues = try await gate.perform(request(token, Self.errorsPage, context), status: { _ in 200 }) { grant in
            try await errors.issues(grant, status: status, limit: 100)
        }
        let paths = issues.flatMap { issue in Self.issueActions.map { "coffer/errors/issues/\(issue.id)/\($0)" } }
        let capabilities = try await gate.capabilities(token: token, on: paths)
        func may(_ issue: ErrorIssue, _ action: String) -> Bool {
            let granted = Set(capabilities["coffer/errors/issues/\(issue.id)/\(action)"] ?? [])
            return granted.contains("root") || granted.contains("update")
        }
        let rows = issues.map { issue -> [String: Any] in
            [
                "id": String(issue.id), "title": issue.title, "component": issue.component, "severity": issue.severity.rawValue,
                "count": String(issue.count), "last": Self.time(issue.lastSeen), "regressed": issue.regressed,
                "actions": Self.issueActions.filter { action in
                    may(issue, action) && (action == "reopen" ? issue.status != .unresolved : issue.status == .unresolved)
                }.map { ["action": $0, "label": $0.prefix(1).uppercased() + $0.dropFirst()] }
            ]
        }
        return Self.render(
            ConsoleTemplates.errors,
            [
                "rows": rows, "none": rows.isEmpty, "csrf": csrf,
                "filters": IssueStatus.allCases.map { ["status": $0.rawValue, "current": $0 == status] }
            ])
    }

    private func issueAction(token: String, id text: String, action: String, context: CofferRequestContext) async throws -> String {
        guard let id = Int64(text), id > 0, Self.issueActions.contains(action) else {
            throw APIError(.badRequest, "not an issue action: \(action) on \(text); use resolve, ignore or reopen on an issue's number")
        }
        let request = GateRequest(
            token: token, path: try CanonicalPath(validating: "coffer/errors/issues/\(id)/\(action)"), operation: .update,
            requestID: UUID().uuidString, remoteAddress: context.remoteAddress)
        let issue = try await gate.perform(request, status: { _ in 200 }) { grant in
            switch action {
            case "resolve": try await errors.resolve(grant, id: id, note: "from the console")
            case "ignore": try await errors.ignore(grant, id: id, note: "from the console")
            default: try await errors.reopen(grant, id: id, note: "from the console")
            }
        }
        return Self.render(
            ConsoleTemplates.issueChanged, ["id": String(issue.id), "title": issue.title, "status": issue.status.rawValue])
    }
}
