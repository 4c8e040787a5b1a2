import CofferAccess
import CofferEngines
import CofferFoundation
import CofferHTTP
import Foundation
import Hummingbird

/// The leases page: the database engine's leases, soonest to expire first (`list sys/leases/lookup` with `sudo`,
/// as Vault's `LIST sys/leases/lookup/` needs), and "Revoke" where the token may (`update sys/leases/revoke`, the
/// request `vault lease revoke` makes), a form with the session's CSRF token.
extension ConsoleRoutes {
    static let leasesPage = Page(
        label: "Leases", href: "/ui/leases", path: "sys/leases/lookup", operation: .list, extra: [], sudo: true)
    static let leasePageRows = 500

    func registerLeases(on router: Router<CofferRequestContext>) {
        router.get("/ui/leases") { request, context in
            try await page(request, context, Self.leasesPage) { token, session in
                try await leasesPage(token: token, csrf: session.csrf, context: context)
            }
        }
        formAction(on: router, "/ui/leases/revoke", Self.leasesPage) { token, form, context in
            try await revokeLease(token: token, id: form.id ?? "", context: context)
        }
    }

    private func leasesPage(token: String, csrf: String, context: CofferRequestContext) async throws -> String {
        let listed = try await gate.perform(request(token, Self.leasesPage, context), status: { _ in 200 }) { grant in
            try await databases.leases(grant, limit: Self.leasePageRows + 1)
        }
        let granted = Set(try await gate.capabilities(token: token, on: ["sys/leases/revoke"])["sys/leases/revoke"] ?? [])
        let mayRevoke = granted.contains("root") || granted.contains("update")
        let now = Date()
        let rows = listed.prefix(Self.leasePageRows).map { listing -> [String: Any] in
            let lease = listing.lease
            let left = Int64(lease.expiresAt.timeIntervalSince(now))
            return [
                "id": lease.id, "role": lease.roleName, "database": lease.dbName, "username": lease.username,
                "issued": Self.time(lease.issuedAt), "renewed": lease.renewedAt.map(Self.time) ?? "never",
                "expires": Self.time(lease.expiresAt), "max": Self.time(lease.maxExpiresAt),
                "left": left > 0 ? Self.span(left) : "expired (the reaper revokes it)", "altered": !listing.intact,
                "canRevoke": mayRevoke && listing.intact
            ]
        }
        return Self.render(
            ConsoleTemplates.leases,
            ["rows": rows, "none": rows.isEmpty, "capped": listed.count > Self.leasePageRows, "csrf": csrf])
    }

    private func revokeLease(token: String, id: String, context: CofferRequestContext) async throws -> String {
        guard !id.isEmpty, id.utf8.count <= 512, !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError(.badRequest, "not a lease ID: give one from the leases page, such as database/creds/readonly/…")
        }
        let revoke = GateRequest(
            token: token, path: "sys/leases/revoke", operation: .update, requestID: UUID().uuidString,
            remoteAddress: context.remoteAddress)
        try await gate.perform(revoke, status: { _ in 204 }) { grant in try await databases.revoke(grant, lease: id) }
        return Self.render(ConsoleTemplates.leaseRevoked, ["id": id])
    }

    /// A duration as an operator reads it: `2h 5m`, `45s`.
    static func span(_ seconds: Int64) -> String {
        let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60)
        if days > 0 { return "\(days)d \(hours)h" }
        if hours > 0 { return "\(hours)h \(minutes)m" }
        return minutes > 0 ? "\(minutes)m \(seconds % 60)s" : "\(seconds)s"
    }
}
