import CofferAccess
import CofferCrypto
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// Vault's KV version 2 API over the credentials store, for every mounted engine of version 2 (and version 1,
/// through ``UnversionedKVRoutes``):
/// `/v1/<mount>/{config,data,metadata,delete,undelete,destroy,subkeys}/…`, with Vault's paths, bodies
/// and status codes, so hvac's `secrets.kv.v2` works unchanged.
public struct KVRoutes: Sendable {
    let store: CredentialStore
    /// Decides rotation settings (a rotator's, and those that act on another system).
    let rotation: any RotationSettingsCheck

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(store: CredentialStore, rotation: any RotationSettingsCheck) {
        self.store = store
        self.rotation = rotation
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        // Last: the version 1 routes take what the version 2 routes leave free.
        defer { UnversionedKVRoutes(store: store).register(on: router) }
        on(router, "/v1/:mount/config", method: .get) { request, context, grant in
            let mount = try await store.config(grant, mount: try parts(grant, kind: "config").mount)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ConfigData(mount)))
        }
        onWrite(router, "/v1/:mount/config") { request, context, grant in
            let body = try await Body.decodeIfPresent(ConfigBody.self, request, context) ?? ConfigBody()
            try await store.mounts.tune(
                grant, path: try parts(grant, kind: "config").mount, engine: 2,
                maxVersions: body.max_versions, casRequired: body.cas_required,
                deleteVersionAfter: try body.delete_version_after.map { try Duration.seconds(of: $0, field: "delete_version_after") })
            return Response(status: .noContent)
        }

        // data/:path
        on(router, "/v1/:mount/data/**", method: .get) { request, context, grant in
            let path = try secretPath(grant, kind: "data")
            switch try await store.read(grant, path, select: try selector(request)) {
            case .found(let secret):
                grant.auditSensitive("data", secret: secret.data)
                let metadata = VersionData(secret.metadata, custom: secret.customMetadata).json
                return SecretBody.response(
                    status: .ok, prefix: VaultEnvelope<NoData>.prefix + #"{"data":"#, secret: secret.data.bytes,
                    suffix: #","metadata":"# + metadata + "}" + VaultEnvelope<NoData>.suffix)
            case .deleted(let metadata, let custom):
                // Vault answers 404 and still gives the version's metadata (hvac's raise_on_deleted_version=False reads it).
                return VaultJSON.response(
                    status: .notFound, VaultEnvelope(data: DeletedData(metadata: VersionData(metadata, custom: custom))))
            }
        }
        onWrite(router, "/v1/:mount/data/**", operation: .write) { request, context, grant in
            let path = try secretPath(grant, kind: "data")
            let body = try await Body.decode(WriteBody.self, request, context)
            guard let data = body.data else { throw APIError(.badRequest, "no data provided: send {\"data\": {\"key\": \"value\"}}") }
            guard case .object = data else { throw APIError(.badRequest, "data must be a JSON object of keys and values") }
            let sealed = try guardedJSON(data)
            let (version, custom) = try await store.write(grant, path, data: sealed, cas: body.options?.cas)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: VersionData(version, custom: custom)))
        }
        on(router, "/v1/:mount/data/**", method: .patch) { request, context, grant in
            try requireMergePatch(request)
            let path = try secretPath(grant, kind: "data")
            let body = try await Body.decode(WriteBody.self, request, context)
            guard let data = body.data else { throw APIError(.badRequest, "no data provided: send {\"data\": {\"key\": \"value\"}}") }
            let (version, custom) = try await store.patch(grant, path, patch: data, cas: body.options?.cas)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: VersionData(version, custom: custom)))
        }
        on(router, "/v1/:mount/data/**", method: .delete) { request, context, grant in
            try await store.change(grant, try secretPath(grant, kind: "data"), .delete, versions: nil)
            return Response(status: .noContent)
        }

        // delete, undelete, destroy
        for change in [CredentialStore.VersionChange.delete, .undelete, .destroy] {
            onWrite(router, "/v1/:mount/\(change.rawValue)/**") { request, context, grant in
                let path = try secretPath(grant, kind: change.rawValue)
                let body = try await Body.decode(VersionsBody.self, request, context)
                try await store.change(grant, path, change, versions: body.versions ?? [])
                return Response(status: .noContent)
            }
        }

        // metadata
        for path in ["/v1/:mount/metadata", "/v1/:mount/metadata/**"] {
            on(router, path, method: GatedRouter.list) { request, context, grant in try await list(request, context, grant) }
            on(router, path, method: .get) { request, context, grant in
                if request.uri.queryParameters["list"] == "true" { return try await list(request, context, grant) }
                let metadata = try await store.metadata(grant, try secretPath(grant, kind: "metadata"))
                return VaultJSON.response(status: .ok, VaultEnvelope(data: metadata))
            }
        }
        for method in [HTTPRequest.Method.post, .put, .patch] {
            on(router, "/v1/:mount/metadata/**", method: method, operation: method == .patch ? .patch : .write) {
                request, context, grant in
                if method == .patch { try requireMergePatch(request) }
                let path = try secretPath(grant, kind: "metadata")
                let body = try await Body.decodeIfPresent(MetadataBody.self, request, context) ?? MetadataBody()
                try await rotation.authorise(grant, settings: body.rotation_settings)
                try await store.writeMetadata(grant, path, try body.update(checking: rotation), merge: method == .patch)
                return Response(status: .noContent)
            }
        }
        on(router, "/v1/:mount/metadata/**", method: .delete) { request, context, grant in
            try await store.deleteMetadata(grant, try secretPath(grant, kind: "metadata"))
            return Response(status: .noContent)
        }

        on(router, "/v1/:mount/subkeys/**", method: .get) { request, context, grant in
            let path = try secretPath(grant, kind: "subkeys")
            let depth =
                try request.uri.queryParameters["depth"].map { text -> Int in
                    guard let depth = Int(text), depth >= 0 else {
                        throw APIError(.badRequest, "depth must be 0 (no limit) or a positive number")
                    }
                    return depth
                } ?? 0
            switch try await store.read(grant, path, version: try versionParameter(request)) {
            case .found(let secret):
                guard let value = secret.data.bytes.withUnsafeBytes({ JSONValue.parse($0) }) else {
                    throw APIError(.internalServerError, "internal error")
                }
                return VaultJSON.response(
                    status: .ok,
                    VaultEnvelope(
                        data: SubkeysData(
                            subkeys: value.subkeys(depth: depth),
                            metadata: VersionData(secret.metadata, custom: secret.customMetadata))))
            case .deleted(let metadata, let custom):
                return VaultJSON.response(
                    status: .notFound, VaultEnvelope(data: SubkeysData(subkeys: .null, metadata: VersionData(metadata, custom: custom))))
            }
        }
    }

    /// A version 2 route that hands a request on a version 1 engine to the version 1 routes, where the same
    /// path names a secret (`kv1/data/x` is the secret `data/x`). The store says so when it meets the engine
    /// (``AccessErrorCode/otherEngineVersion``); a request refused before it gets there (a body or a path that is not version
    /// 2's) is checked against the engine's version then, so the common answer costs nothing extra. The body is
    /// collected first, so either version's handler can read it; the Gate's decision covers both, as both act
    /// on the same path.
    /// ``on(_:_:method:operation:_:)`` under both of Vault's write methods.
    private func onWrite(
        _ router: GatedRouter, _ path: String, operation: GateRequest.Operation? = nil, _ handler: @escaping GatedRouter.Handler
    ) {
        for method in GatedRouter.writeMethods { on(router, path, method: method, operation: operation, handler) }
    }

    /// Every route of the engine: each change it makes (CredentialStore's and MountStore.tune's, and the version
    /// 1 routes' it may hand over to) goes through `Grant.transaction`, so its request entry commits with it. Its
    /// reads do nothing before their first statement (CredentialStore.read confirms the revocation epoch in it;
    /// the others leave that to the Gate, after them), so a cached token's read skips the Gate's epoch read.
    private func on(
        _ router: GatedRouter, _ path: String, method: HTTPRequest.Method, operation: GateRequest.Operation? = nil,
        _ handler: @escaping GatedRouter.Handler
    ) {
        let unversioned = UnversionedKVRoutes(store: store)
        let mounts = store.mounts
        router.on(path, method: method, operation: operation, requestEntry: .withChange, epochCheck: .inModule) { request, context, grant in
            var request = request
            if [.post, .put, .patch].contains(method) { _ = try await request.collectBody(upTo: context.maxUploadSize) }
            do {
                return try await handler(request, context, grant)
            } catch AccessError.Code.otherEngineVersion { // this route is version 2, so the engine is version 1
                return try await unversioned.respond(request, context, grant)
            } catch  where Self.refusedBeforeTheStore(error) {
                guard try await mounts.mount(String(grant.path.prefix { $0 != "/" }))?.version == 1 else { throw error }
                return try await unversioned.respond(request, context, grant)
            }
        }
    }

    /// Whether `error` may be a version 2 handler refusing what it checks before the store sees the engine (a
    /// body, a path, a parameter, a content type). A 404 or 403 comes from the store, which knows the engine, so
    /// they cost no second look at the mount (a 404 read is a common answer).
    private static func refusedBeforeTheStore(_ error: any Error) -> Bool {
        switch error {
        case let error as AccessError: ![.notFound, .missing, .permissionDenied].contains(error.code)
        case let error as APIError: error.status != .notFound && error.status != .forbidden
        default: true
        }
    }

    private func list(_ request: Request, _ context: CofferRequestContext, _ grant: Grant) async throws -> Response {
        let (mount, folder) = try parts(grant, kind: "metadata")
        let keys = try await store.list(grant, mount: mount, folder: folder)
        return VaultJSON.response(status: .ok, VaultEnvelope(data: ["keys": keys]))
    }

    /// The mount and the rest of the path after `/<kind>/`, from the resource the Gate decided on (never the URL).
    private func parts(_ grant: Grant, kind: String) throws -> (mount: String, rest: String) {
        let path = grant.path
        guard let slash = path.firstIndex(of: "/") else { throw APIError.missing }
        let mount = String(path[..<slash])
        let after = path[path.index(after: slash)...]
        guard after.hasPrefix(kind) else { throw APIError.missing }
        let rest = after.dropFirst(kind.count)
        return (mount, String(rest.hasPrefix("/") ? rest.dropFirst() : rest))
    }

    private func secretPath(_ grant: Grant, kind: String) throws -> SecretPath {
        let (mount, rest) = try parts(grant, kind: kind)
        return try SecretPath(mount: mount, path: rest)
    }

    /// `?version=N` or Coffer's `?label=current|pending|previous` (a rotation's labels), not both.
    private func selector(_ request: Request) throws -> VersionSelector {
        let version = try versionParameter(request)
        guard let label = request.uri.queryParameters["label"] else { return version.map { $0 == 0 ? .current : .number($0) } ?? .current }
        guard version == nil else { throw APIError(.badRequest, "give version or label, not both") }
        switch label {
        case "current": return .current
        case "pending": return .pending
        case "previous": return .previous
        default: throw APIError(.badRequest, "label must be current, pending or previous")
        }
    }

    private func versionParameter(_ request: Request) throws -> Int64? {
        guard let text = request.uri.queryParameters["version"] else { return nil }
        guard let version = Int64(text), version >= 0 else {
            throw APIError(.badRequest, "version must be 0 (the current version) or a positive version number")
        }
        return version
    }

    /// Vault takes PATCH only as a JSON merge patch.
    private func requireMergePatch(_ request: Request) throws {
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/merge-patch+json") else {
            throw APIError(.unsupportedMediaType, "PATCH takes Content-Type: application/merge-patch+json")
        }
    }

    /// The data's compact JSON in guarded memory; the intermediate copy is wiped.
    private func guardedJSON(_ value: JSONValue) throws -> SecureHandle {
        var text = try value.encoded()
        defer { text.withUnsafeMutableBytes { Wipe.raw($0) } }
        return SecureHandle(SecureBytes(copying: text))
    }

    // MARK: bodies

    package struct WriteBody: Decodable {
        package struct Options: Decodable {
            var cas: Int64?
        }
        var options: Options?
        var data: JSONValue?
    }

    package struct VersionsBody: Decodable {
        var versions: [Int64]?
    }

    package struct ConfigBody: Decodable {
        var max_versions: Int64?
        var cas_required: Bool?
        var delete_version_after: DurationValue?
    }

    package struct MetadataBody: Decodable {
        var max_versions: Int64?
        var cas_required: Bool?
        var delete_version_after: DurationValue?
        var custom_metadata: [String: String?]?
        // Coffer's: expiry and rotation fields.
        var expires_at: String?
        var rotation_interval: DurationValue?
        var rotation_kind: String?
        var rotation_settings: JSONValue?
        var rotation_schedule: String?

        func update(checking rotation: any RotationSettingsCheck) throws -> MetadataUpdate {
            var update = MetadataUpdate(
                maxVersions: max_versions, casRequired: cas_required,
                deleteVersionAfter: try delete_version_after.map { try Duration.seconds(of: $0, field: "delete_version_after") },
                customMetadata: custom_metadata,
                rotationInterval: try rotation_interval.map { try Duration.seconds(of: $0, field: "rotation_interval") })
            if let expires_at {
                if expires_at.isEmpty {
                    update.expiresAt = .some(nil)
                } else {
                    guard let date = VaultTime.parse(expires_at) else {
                        throw APIError(.badRequest, "expires_at must be an RFC 3339 time such as 2027-01-31T00:00:00Z, or \"\" to clear it")
                    }
                    update.expiresAt = .some(date)
                }
            }
            if let rotation_kind { update.rotationKind = .some(rotation_kind.isEmpty ? nil : rotation_kind) }
            if let rotation_schedule {
                if rotation_schedule.isEmpty {
                    update.rotationSchedule = .some(nil)
                } else {
                    do { _ = try CronSchedule(rotation_schedule) } catch let error as CronSchedule.ParseError {
                        throw APIError(.badRequest, "rotation_schedule: \(error.description)")
                    }
                    update.rotationSchedule = .some(rotation_schedule)
                }
            }
            switch rotation_settings {
            case nil: break
            case .null?: update.rotationSettings = .some(nil)
            case .object(let object)?:
                update.rotationSettings = .some(String(decoding: try JSONValue.object(object).encoded(), as: UTF8.self))
            default: throw APIError(.badRequest, "rotation_settings must be a JSON object (or null to clear it)")
            }
            // A rotator named here is checked with the settings given here, so a bad one is refused now, not at the next run.
            if let kind = rotation_kind, !kind.isEmpty {
                try rotation.validate(kind: kind, settings: update.rotationSettings ?? nil)
            }
            return update
        }
    }

    // MARK: answers

    struct VersionData: Encodable {
        let version: Int64
        let created_time: String
        let deletion_time: String
        let destroyed: Bool
        @EncodesNull var custom_metadata: [String: String]?

        init(_ metadata: VersionMetadata, custom: [String: String]?) {
            version = metadata.version
            created_time = VaultTime.format(metadata.createdAt)
            // A deletion time still ahead (delete_version_after) is shown, as Vault does.
            deletion_time = VaultTime.format(metadata.deletionTime)
            destroyed = metadata.destroyed
            custom_metadata = custom
        }

        /// The same object as the synthesized encoding, without JSONEncoder (every read writes one).
        var json: String {
            var out = Array(#"{"created_time":"#.utf8)
            JSONText.appendString(created_time, to: &out)
            out += Array(#","custom_metadata":"#.utf8)
            if let custom_metadata {
                out.append(UInt8(ascii: "{"))
                for (index, key) in custom_metadata.keys.sorted().enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    JSONText.appendString(key, to: &out)
                    out.append(UInt8(ascii: ":"))
                    JSONText.appendString(custom_metadata[key] ?? "", to: &out)
                }
                out.append(UInt8(ascii: "}"))
            } else {
                out += Array("null".utf8)
            }
            out += Array(#","deletion_time":"#.utf8)
            JSONText.appendString(deletion_time, to: &out)
            out += Array(#","destroyed":\#(destroyed),"version":\#(version)}"#.utf8)
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// A deleted or destroyed version: 404 with `"data": null` and the version's metadata.
    struct DeletedData: Encodable {
        @EncodesNull var data: JSONValue? = nil
        let metadata: VersionData
    }

    struct SubkeysData: Encodable {
        /// `.null` for a deleted version.
        let subkeys: JSONValue
        let metadata: VersionData
    }

    struct ConfigData: Encodable {
        let max_versions: Int64
        let cas_required: Bool
        let delete_version_after: String

        init(_ mount: KVMount) {
            max_versions = mount.maxVersions
            cas_required = mount.casRequired
            delete_version_after = VaultTime.duration(mount.deleteVersionAfter)
        }
    }
}

/// An entry of a secret's `versions` in its metadata answer, as Vault writes it (`""` for no deletion time).
extension VersionMetadata: Encodable {
    private enum CodingKeys: String, CodingKey { case createdAt = "created_time", deletionTime = "deletion_time", destroyed }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(VaultTime.format(deletionTime), forKey: .deletionTime)
        try container.encode(destroyed, forKey: .destroyed)
    }
}

/// `metadata/:path` as Vault answers it, followed by Coffer's own fields (usage, expiry, rotation and its
/// labels). Times absent are `""` and durations Go's text, as Vault writes them.
extension SecretMetadata: Encodable {
    private enum CodingKeys: String, CodingKey {
        case casRequired = "cas_required", createdAt = "created_time", currentVersion = "current_version"
        case customMetadata = "custom_metadata", deleteVersionAfter = "delete_version_after", maxVersions = "max_versions"
        case oldestVersion = "oldest_version", updatedAt = "updated_time", versions
        case createdBy = "created_by", expiresAt = "expires_at", accessCount = "access_count", lastAccessedAt = "last_accessed_time"
        case rotationInterval = "rotation_interval", rotationKind = "rotation_kind", lastRotatedAt = "last_rotated_time"
        case nextRotationAt = "next_rotation_time", rotationSettings = "rotation_settings", rotationSchedule = "rotation_schedule"
        case rotationFailures = "rotation_failures", rotationLastError = "rotation_last_error", pendingVersion = "pending_version"
        case previousVersion = "previous_version", previousUntil = "previous_until"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(casRequired, forKey: .casRequired)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(currentVersion, forKey: .currentVersion)
        try container.encode(customMetadata, forKey: .customMetadata)
        try container.encode(VaultTime.duration(deleteVersionAfter), forKey: .deleteVersionAfter)
        try container.encode(maxVersions, forKey: .maxVersions)
        try container.encode(oldestVersion, forKey: .oldestVersion)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(Dictionary(uniqueKeysWithValues: versions.map { (String($0.version), $0) }), forKey: .versions)
        try container.encode(createdBy, forKey: .createdBy)
        try container.encode(VaultTime.format(expiresAt), forKey: .expiresAt)
        try container.encode(accessCount, forKey: .accessCount)
        try container.encode(VaultTime.format(lastAccessedAt), forKey: .lastAccessedAt)
        try container.encode(VaultTime.duration(rotation.interval), forKey: .rotationInterval)
        try container.encode(rotation.kind ?? "", forKey: .rotationKind)
        try container.encode(VaultTime.format(rotation.lastRotatedAt), forKey: .lastRotatedAt)
        try container.encode(VaultTime.format(rotation.nextDueAt), forKey: .nextRotationAt)
        try container.encode(rotation.settings.flatMap { JSONValue.parse(Array($0.utf8)) }, forKey: .rotationSettings)
        try container.encode(rotation.schedule ?? "", forKey: .rotationSchedule)
        try container.encode(rotation.failures, forKey: .rotationFailures)
        try container.encode(rotation.lastError ?? "", forKey: .rotationLastError)
        try container.encode(labels.pending, forKey: .pendingVersion)
        try container.encode(labels.previous, forKey: .previousVersion)
        try container.encode(VaultTime.format(labels.previousUntil), forKey: .previousUntil)
    }
}
