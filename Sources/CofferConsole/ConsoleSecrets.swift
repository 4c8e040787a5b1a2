import CofferAccess
import CofferCrypto
import CofferEngines
import CofferFoundation
import CofferHTTP
import Foundation
import Hummingbird

/// The secrets browser: the KV version 2 mounts the token may use something under, their folders
/// (`list <mount>/metadata/<folder>/`), a secret's versions, labels, custom metadata and rotation
/// (`read <mount>/metadata/<path>`), each the request `vault kv list` and `vault kv metadata get` make. A value is
/// never on a page the browser opens by address: it is shown only after a click on "Show value", a POST with the
/// session's CSRF token that makes the read `vault kv get -version=N` makes (`read <mount>/data/<path>`), audited
/// as that read with its response's keyed hash.
extension ConsoleRoutes {
    static let secretsPage = Page(
        label: "Secrets", href: "/ui/secrets", path: "sys/internal/ui/mounts", operation: .read, extra: [], anyMount: true)

    func registerSecrets(on router: Router<CofferRequestContext>) {
        router.get("/ui/secrets") { request, context in
            try await page(request, context, Self.secretsPage) { token, session in
                let asked = request.uri.queryParameters["path"].map(String.init) ?? ""
                return try await secretsPage(token: token, csrf: session.csrf, asked: asked, context: context)
            }
        }
        formAction(on: router, "/ui/secrets/reveal", Self.secretsPage) { token, form, context in
            try await reveal(token: token, secret: form.secret ?? "", version: form.version ?? "", context: context)
        }
    }

    /// The version 2 mounts under which `token` may use something: what the navigation and the top page show.
    func visibleMounts(token: String) async throws -> [KVMount] {
        var visible: [KVMount] = []
        for mount in try await credentials.mounts.list() where mount.version == 2 {
            if await gate.hasAccess(token: token, under: mount.key) { visible.append(mount) }
        }
        return visible
    }

    private func secretsPage(token: String, csrf: String, asked: String, context: CofferRequestContext) async throws -> String {
        let trimmed = asked.hasPrefix("/") ? String(asked.dropFirst()) : asked
        guard !trimmed.isEmpty else {
            let mounts = try await visibleMounts(token: token)
            return Self.render(
                ConsoleTemplates.secretMounts,
                [
                    "mounts": mounts.map { ["path": $0.path, "href": Self.secretsLink($0.key), "description": $0.description] },
                    "none": mounts.isEmpty
                ])
        }
        let mount = String(trimmed.prefix { $0 != "/" })
        let rest = String(trimmed.dropFirst(mount.count).drop { $0 == "/" })
        if rest.isEmpty || rest.hasSuffix("/") {
            return try await folderPage(token: token, mount: mount, folder: rest, context: context)
        }
        return try await secretPage(token: token, csrf: csrf, path: try Self.secretPath(trimmed), context: context)
    }

    private func folderPage(token: String, mount: String, folder: String, context: CofferRequestContext) async throws -> String {
        // The folder is a name from the address bar: held to the store's rules, as the API's list would hold it.
        do { try SecretPath.validate(folder, folder: true) } catch {
            throw APIError(.badRequest, "\(mount)/\(folder) is not a folder: use names without .., //, control characters or %")
        }
        let listed = try Self.path("\(mount)/metadata/\(folder)")
        let keys = try await gate.perform(Self.gateRequest(token, listed, .list, context), status: { _ in 200 }) { grant in
            guard try await credentials.mounts.mount(mount)?.version == 2 else {
                throw APIError(.notFound, "no KV version 2 engine is mounted at \(mount)/: pick one from the engines page")
            }
            do {
                return try await credentials.list(grant, mount: mount, folder: folder)
            } catch let error as AccessError where error.code == .notFound {
                return [String]() // an empty folder: Vault's 404 for a list, an empty listing on a page
            }
        }
        var crumbs: [[String: Any]] = [["name": mount, "href": Self.secretsLink(mount + "/")]]
        var walked = mount + "/"
        for part in folder.split(separator: "/") {
            walked += part + "/"
            crumbs.append(["name": String(part), "href": Self.secretsLink(walked)])
        }
        return Self.render(
            ConsoleTemplates.secretFolder,
            [
                "crumbs": crumbs, "none": keys.isEmpty,
                "keys": keys.map { key -> [String: Any] in
                    ["name": key, "folder": key.hasSuffix("/"), "href": Self.secretsLink("\(mount)/\(folder)\(key)")]
                }
            ])
    }

    private func secretPage(token: String, csrf: String, path: SecretPath, context: CofferRequestContext) async throws -> String {
        let metadataPath = try Self.path(path.requestPath("metadata"))
        let metadata = try await gate.perform(Self.gateRequest(token, metadataPath, .read, context), status: { _ in 200 }) { grant in
            try await credentials.metadata(grant, path)
        }
        // "Show value" is drawn only where the token may read the data: the policy decides, the Gate enforces.
        let dataPath = path.requestPath("data")
        let granted = Set(try await gate.capabilities(token: token, on: [dataPath])[dataPath] ?? [])
        let mayRead = granted.contains("root") || granted.contains("read")
        let now = Date()
        let labels = metadata.labels
        let versions = metadata.versions.reversed().map { version -> [String: Any] in
            var names: [String] = []
            if version.version == metadata.currentVersion { names.append("current") }
            if version.version == labels.pending { names.append("pending") }
            if version.version == labels.previous { names.append("previous") }
            let state =
                version.destroyed
                ? "destroyed"
                : version.isDeleted(at: now) ? "deleted" : version.deletionTime.map { "deleted at \(Self.time($0))" } ?? "live"
            return [
                "version": String(version.version), "created": Self.time(version.createdAt), "by": version.createdBy,
                "state": state, "labels": names.joined(separator: ", "), "reveal": mayRead && !version.isDeleted(at: now)
            ]
        }
        let custom = (metadata.customMetadata ?? [:]).sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }
        let rotation = metadata.rotation
        var values: [String: Any] = [
            "path": path.id, "folder": Self.secretsLink(path.mount + "/" + Self.parentFolder(path.path)), "csrf": csrf,
            "current": String(metadata.currentVersion),
            "keeps": metadata.maxVersions == 0 ? "the engine's number of versions" : "\(metadata.maxVersions) versions",
            "created": Self.time(metadata.createdAt), "updated": Self.time(metadata.updatedAt), "reads": String(metadata.accessCount),
            "lastRead": metadata.lastAccessedAt.map(Self.time) ?? "never",
            "versions": versions, "custom": custom, "noCustom": custom.isEmpty, "mayRead": mayRead
        ]
        // Mustache shows a section for any value, an empty string too: absent facts are left out.
        if let expires = metadata.expiresAt { values["expires"] = Self.time(expires) }
        if let kind = rotation.kind { values["rotator"] = kind }
        if let due = rotation.nextDueAt { values["nextDue"] = Self.time(due) }
        return Self.render(ConsoleTemplates.secret, values)
    }

    private func reveal(token: String, secret: String, version text: String, context: CofferRequestContext) async throws -> String {
        let path = try Self.secretPath(secret)
        guard let version = Int64(text), version > 0 else {
            throw APIError(.badRequest, "version must be a version number (1 or more); it was \(text.prefix(20))")
        }
        let dataPath = try Self.path(path.requestPath("data"))
        let fields = try await gate.perform(Self.gateRequest(token, dataPath, .read, context), status: { _ in 200 }) { grant in
            switch try await credentials.read(grant, path, version: version) {
            case .found(let found):
                // The response's keyed hash goes to the audit entry, as for the API's read of the same version.
                grant.auditSensitive("data", secret: found.data)
                return found.data.bytes.withUnsafeBytes { Self.fields(of: JSONValue.parse($0)) }
            case .deleted:
                throw APIError(.notFound, "version \(version) of \(path.id) is deleted or destroyed: undelete it to read it")
            }
        }
        return Self.render(
            ConsoleTemplates.secretValue,
            ["path": path.id, "version": String(version), "fields": fields, "back": Self.secretsLink(path.id)])
    }

    /// A value's top-level keys with their values as text (a string as it is, anything else as JSON).
    static func fields(of value: JSONValue?) -> [[String: String]] {
        guard case .object(let object)? = value else {
            let text = (try? value?.encoded()).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return [["key": "(value)", "value": text]]
        }
        return object.sorted { $0.key < $1.key }.map { key, value in
            if case .string(let text) = value { return ["key": key, "value": text] }
            return ["key": key, "value": (try? value.encoded()).map { String(decoding: $0, as: UTF8.self) } ?? ""]
        }
    }

    /// A secret's `mount/path` from a form or the address bar, held to the store's rules.
    static func secretPath(_ text: String) throws -> SecretPath {
        guard let path = try? SecretPath(id: text) else {
            throw APIError(
                .badRequest, "\(text.prefix(200)) is not a secret's mount/path, such as secret/app/db (no .., //, control characters or %)")
        }
        return path
    }

    static func path(_ text: String) throws -> CanonicalPath {
        do { return try CanonicalPath(validating: text) } catch {
            throw APIError(.badRequest, "\(text.prefix(200)) is not a path Coffer takes: \(error)")
        }
    }

    static func gateRequest(_ token: String, _ path: CanonicalPath, _ operation: GateRequest.Operation, _ context: CofferRequestContext)
        -> GateRequest
    {
        GateRequest(token: token, path: path, operation: operation, requestID: UUID().uuidString, remoteAddress: context.remoteAddress)
    }

    /// `/ui/secrets?path=…` with the path's reserved characters escaped.
    static func secretsLink(_ path: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&+=#%")
        return "/ui/secrets?path=" + (path.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
    }

    static func parentFolder(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }
}
