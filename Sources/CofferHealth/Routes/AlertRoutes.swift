import CofferAccess
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/coffer/health/alerts/…` (Docs/API.md, "Alerts"): rules as code, what fires now, the history,
/// silences. Under the health policies (`health-reader`, `health-writer`).
public struct AlertRoutes: Sendable {
    let engine: AlertEngine

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(engine: AlertEngine) {
        self.engine = engine
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.on("/v1/coffer/health/alerts/rules", method: .put) { request, context, grant in
            let buffer = try await request.body.collect(upTo: context.maxUploadSize)
            let rules = try AlertRulesFile.parse(Data(buffer.readableBytesView))
            let (added, changed, removed) = try await engine.apply(grant, rules, prune: request.uri.queryParameters["prune"] != "false")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["added": added, "changed": changed, "removed": removed]))
        }
        router.onList("/v1/coffer/health/alerts/rules") { _, _, grant in
            try VaultJSON.keys(try await engine.rules(grant).map(\.name))
        }
        router.on("/v1/coffer/health/alerts", method: .get) { _, _, grant in
            let firing = try await engine.firing(grant)
            return VaultJSON.response(
                status: .ok,
                VaultEnvelope(data: ["firing": firing]))
        }
        router.on("/v1/coffer/health/alerts/history", method: .get) { request, _, grant in
            guard let limit = Int(request.uri.queryParameters["limit"].map(String.init) ?? "100") else {
                throw APIError(.badRequest, "limit must be a number")
            }
            let history = try await engine.history(grant, limit: limit)
            return VaultJSON.response(
                status: .ok,
                VaultEnvelope(data: ["history": history]))
        }
        router.on("/v1/coffer/health/alerts/silence", method: .post) { request, context, grant in
            let body = try await Body.decode(SilenceBody.self, request, context)
            try await engine.silence(
                grant, rule: body.rule, until: try SuiteTime.parse(body.until.text, field: "until"), reason: body.reason ?? "")
            return Response(status: .noContent)
        }
    }

    package struct SilenceBody: Decodable {
        let rule: String
        let until: TimeValue
        var reason: String?
    }
}
