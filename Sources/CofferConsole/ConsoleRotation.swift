import CofferAccess
import CofferEngines
import CofferFoundation
import CofferHTTP
import CofferRotation
import Foundation
import Hummingbird

/// The rotation page: every credential with a rotator, its schedule, failures with their last error and any
/// unfinished run (`read coffer/rotation/status`), and "Rotate now" where the token has `rotate` on the
/// credential (`coffer/rotation/rotate/<mount/path>`, the same request as `make rotate SECRET=…`).
extension ConsoleRoutes {
    static let rotationPage = Page(label: "Rotation", href: "/ui/rotation", path: "coffer/rotation/status", operation: .read, extra: [])

    func registerRotation(on router: Router<CofferRequestContext>) {
        router.get("/ui/rotation") { request, context in
            try await page(request, context, Self.rotationPage) { token, session in
                try await rotationPage(token: token, csrf: session.csrf, context: context)
            }
        }
        formAction(on: router, "/ui/rotation/rotate", Self.rotationPage) { token, form, context in
            try await rotateNow(token: token, secret: form.secret ?? "", context: context)
        }
    }

    private func rotationPage(token: String, csrf: String, context: CofferRequestContext) async throws -> String {
        let statuses = try await gate.perform(request(token, Self.rotationPage, context), status: { _ in 200 }) { grant in
            try await rotation.status(grant)
        }
        let rotatePaths = statuses.map { RotationEngine.policyPath($0.metadata.path) }
        let capabilities = try await gate.capabilities(token: token, on: rotatePaths)
        let rows = statuses.map { status -> [String: Any] in
            let metadata = status.metadata, schedule = metadata.rotation
            let granted = Set(capabilities[RotationEngine.policyPath(metadata.path)] ?? [])
            return [
                "path": metadata.path.id, "kind": schedule.kind ?? "", "version": String(metadata.currentVersion),
                "last": schedule.lastRotatedAt.map(Self.time) ?? "never", "next": schedule.nextDueAt.map(Self.time) ?? "—",
                "due": status.isDue, "failures": String(schedule.failures), "error": schedule.lastError ?? "",
                "unfinished": status.unfinished.map { "\($0.step.rawValue)\($0.stepDone ? " done" : " started")" } ?? "",
                "canRotate": granted.contains("root") || granted.contains("rotate")
            ]
        }
        return Self.render(ConsoleTemplates.rotation, ["rows": rows, "none": rows.isEmpty, "csrf": csrf])
    }

    private func rotateNow(token: String, secret: String, context: CofferRequestContext) async throws -> String {
        // The field is a name, decoded once with the form; held to the Gate's path rules like any path it decides on.
        guard let path = try? SecretPath(id: secret), let policyPath = try? CanonicalPath(validating: RotationEngine.policyPath(path))
        else {
            throw APIError(.badRequest, "\(secret) is not a credential's mount/path, such as secret/app/api")
        }
        let request = GateRequest(
            token: token, path: policyPath, operation: .rotate, requestID: UUID().uuidString, remoteAddress: context.remoteAddress)
        let outcomes = try await gate.perform(request, status: { _ in 200 }) { grant in
            let outcomes = try await rotation.run(grant, only: path)
            outcomes.recordInAudit(grant)
            return outcomes
        }
        return Self.render(
            ConsoleTemplates.rotated,
            [
                "outcomes": outcomes.map { outcome -> [String: Any] in
                    var row: [String: Any] = [
                        "path": outcome.path, "result": outcome.result.rawValue, "old": String(outcome.oldVersion),
                        "new": outcome.newVersion.map(String.init) ?? "—"
                    ]
                    // Mustache draws a section for an empty string too: no error, no key.
                    if let error = outcome.error { row["error"] = error }
                    return row
                }
            ])
    }
}
