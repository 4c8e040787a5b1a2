import CofferAccess
import CofferFoundation
import CofferHTTP
import CofferModels
import Foundation
import Hummingbird

/// The model registry's pages: the models (`list coffer/models`), and a model's summary
/// (`read coffer/models/<name>`), its versions with status, metrics and artifact (`list
/// coffer/models/<name>/versions`) and its deployment history (`read coffer/models/<name>/history`: every status
/// change and which version held each alias when). Each part is its own request, so a token sees what its
/// policies allow.
extension ConsoleRoutes {
    static let modelsPage = Page(label: "Models", href: "/ui/models", path: "coffer/models", operation: .list, extra: [])

    func registerModels(on router: Router<CofferRequestContext>) {
        router.get("/ui/models") { request, context in
            try await page(request, context, Self.modelsPage) { token, _ in
                if let name = request.uri.queryParameters["name"].map(String.init), !name.isEmpty {
                    return try await modelPage(token: token, name: name, context: context)
                }
                return try await modelList(token: token, context: context)
            }
        }
    }

    private func modelList(token: String, context: CofferRequestContext) async throws -> String {
        let names = try await gate.perform(request(token, Self.modelsPage, context), status: { _ in 200 }) { grant in
            try await models.models(grant)
        }
        return Self.render(ConsoleTemplates.models, ["models": names, "none": names.isEmpty])
    }

    private func modelPage(token: String, name: String, context: CofferRequestContext) async throws -> String {
        // The name is held to the registry's rules before it is part of a path the Gate decides on.
        guard (try? Names.check(name, what: "model")) != nil else {
            throw APIError(.badRequest, "\(name) is not a model's name (letters, digits, '.', '_' or '-')")
        }
        func path(_ tail: String) throws -> CanonicalPath { try CanonicalPath(validating: "coffer/models/\(name)\(tail)") }
        let summary = try await gate.perform(
            GateRequest(
                token: token, path: try path(""), operation: .read, requestID: UUID().uuidString, remoteAddress: context.remoteAddress),
            status: { _ in 200 }
        ) { grant in try await models.model(grant, name) }
        var values: [String: Any] = [
            "name": summary.name, "description": summary.description, "latest": String(summary.latestVersion),
            "count": String(summary.versions), "created": Self.time(summary.createdAt), "by": summary.createdBy,
            "aliases": summary.aliases.sorted { $0.key < $1.key }.map { ["alias": $0.key, "version": String($0.value)] },
            "statuses": ModelStatus.allCases.compactMap { status in
                summary.statuses[status].map { "\(status.rawValue) \($0)" }
            }.joined(separator: " · ")
        ]
        if let versions = try await section(
            token, try path("/versions"), operation: .list, context: context, { try await models.versions($0, model: name) })
        {
            let aliasesOf = Dictionary(grouping: summary.aliases, by: \.value).mapValues { $0.map(\.key).sorted().joined(separator: ", ") }
            values["versions"] = versions.sorted { $0.version > $1.version }.map { version -> [String: Any] in
                [
                    "version": String(version.version), "label": version.versionLabel, "status": version.status.rawValue,
                    "aliases": aliasesOf[version.version] ?? "", "type": version.modelType, "algorithm": version.algorithm,
                    "metrics": version.validationMetrics.sorted { $0.key < $1.key }.map { "\($0.key) \(ConsoleCharts.axisValue($0.value))" }
                        .joined(separator: ", "),
                    "size": Self.bytes(version.artifactSize),
                    "digest": String(version.artifactDigest.description.prefix(23)), "created": Self.time(version.createdAt),
                    "by": version.createdBy
                ]
            }
        } else {
            values["versionsDenied"] = "Not shown: your token may not list coffer/models/\(name)/versions."
        }
        if let events = try await section(token, try path("/history"), context: context, { try await models.history($0, model: name) }) {
            values["events"] = events.reversed().map { event -> [String: Any] in
                let what: String
                switch event.kind {
                case .registered: what = "version \(event.version) registered"
                case .status:
                    what = "version \(event.version): \(event.fromStatus?.rawValue ?? "—") → \(event.toStatus?.rawValue ?? "—")"
                case .aliasSet:
                    what =
                        "\(event.alias ?? "?") → version \(event.version)"
                        + (event.previousVersion.map { " (was \($0))" } ?? "")
                case .aliasRemoved: what = "\(event.alias ?? "?") removed (was version \(event.version))"
                }
                return ["at": Self.time(event.at), "what": what, "note": event.note, "by": event.accessor]
            }
            values["tenures"] = ModelRegistry.tenures(events).reversed().map { tenure -> [String: Any] in
                [
                    "alias": tenure.alias, "version": String(tenure.version), "from": Self.time(tenure.from),
                    "until": tenure.until.map(Self.time) ?? "now", "by": tenure.setBy
                ]
            }
        } else {
            values["historyDenied"] = "Not shown: your token may not read coffer/models/\(name)/history."
        }
        return Self.render(ConsoleTemplates.model, values)
    }

    /// A size as people read it: `512 B`, `1.5 MB` (powers of 1,000, as `ls --si`).
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(count), unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
