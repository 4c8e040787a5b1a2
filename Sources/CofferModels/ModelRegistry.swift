public import CofferAccess
import CofferFoundation
public import CofferStore
public import Foundation

/// The model registry (`ml_model_registry`): models by name, versions that only go up, each with its
/// metadata, lineage and a content-addressed artifact; a lifecycle (registered → staged → deployed →
/// retired), aliases as MLflow's, and the full history of who moved what when. Every call takes the
/// ``Grant`` the Gate issued for the request.
///
/// ```swift
/// let upload = try registry.blobs.upload()
/// try upload.write(bytes)
/// let (version, _) = try await registry.register(grant, model: "fraud", draft, artifact: try upload.finish())
/// try await registry.setAlias(grant, model: "fraud", alias: "champion", version: version.version)
/// ```
public final class ModelRegistry: Sendable {
    let database: any Database
    /// Where the artifacts are.
    public let blobs: BlobStore
    /// The largest artifact an upload may send (default 4 GiB).
    public let maxArtifactSize: Int64

    public init(database: any Database, blobs: BlobStore, maxArtifactSize: Int64 = 4 << 30) {
        self.database = database
        self.blobs = blobs
        self.maxArtifactSize = maxArtifactSize
    }

    // MARK: registration

    /// Checks a registration before its artifact is uploaded, so a bad one costs no upload.
    /// - Throws: ``SuiteError`` `.invalid` (or ``AccessError`` for a bad name) saying which field is wrong.
    public func validate(model: String, _ draft: ModelVersionDraft) throws {
        try Names.check(model, what: "a model name")
        if let label = draft.versionLabel, SemanticVersion(label) == nil {
            throw SuiteError(
                .invalid, "version_label \"\(label)\" is not a semantic version: use MAJOR.MINOR.PATCH, such as 1.4.0 or 2.0.0-rc.1")
        }
        if let digest = draft.artifactDigest, Self.normalisedDigest(digest) == nil {
            throw SuiteError(.invalid, "artifact_digest must be sha256:<64 hex digits>")
        }
        for (scope, metrics) in [("training_metrics", draft.trainingMetrics), ("validation_metrics", draft.validationMetrics)] {
            for (key, value) in metrics ?? [:] {
                try Names.check(key, what: "a metric name in \(scope)")
                guard value.isFinite else { throw SuiteError(.invalid, "\(scope).\(key) must be a finite number") }
            }
        }
        for key in (draft.tags ?? [:]).keys { try Names.check(key, what: "a tag name") }
        for (field, text) in [
            ("model_type", draft.modelType), ("algorithm", draft.algorithm), ("source", draft.source),
            ("training_data", draft.trainingData), ("description", draft.description)
        ] where (text?.utf8.count ?? 0) > 4096 {
            throw SuiteError(.invalid, "\(field) is longer than 4096 bytes")
        }
    }

    /// `sha256:<hex>` or `<hex>` as 64 lowercase hex digits, or nil.
    static func normalisedDigest(_ text: String) -> String? {
        let hex = (text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text).lowercased()
        return hex.utf8.count == 64 && hex.allSatisfy(\.isHexDigit) ? hex : nil
    }

    /// Registers a new version with an uploaded artifact: the artifact moves into place and the row is
    /// written in one transaction; if anything fails, neither the row nor a blob this call placed remain.
    /// - Returns: the version, and whether it was created (false: `ifNewDigest` found this artifact registered).
    /// - Throws: ``SuiteError`` `.invalid` (a digest mismatch: nothing is kept), `.conflict` (a label that does
    ///   not rise above the latest version's).
    public func register(_ grant: Grant, model: String, _ draft: ModelVersionDraft, artifact: StagedBlob) async throws -> (
        ModelVersion, created: Bool
    ) {
        do {
            try validate(model: model, draft)
        } catch {
            blobs.discard(artifact)
            throw error
        }
        if let expected = draft.artifactDigest.flatMap(Self.normalisedDigest), expected != artifact.digest {
            blobs.discard(artifact)
            throw SuiteError(
                .invalid,
                """
                the artifact's digest is sha256:\(artifact.digest), not the artifact_digest given: the upload was damaged or is \
                not the file meant; nothing was registered
                """
            )
        }
        let placed = try blobs.commit(artifact)
        do {
            let (version, created) = try await insert(grant, model: model, draft, digest: artifact.digest, size: artifact.size)
            return (try await self.version(grant, model: model, .number(version)), created)
        } catch {
            if placed, (try? await isReferenced(artifact.digest)) == false { blobs.remove(artifact.digest) }
            throw error
        }
    }

    private func insert(_ grant: Grant, model: String, _ draft: ModelVersionDraft, digest: String, size: Int64) async throws -> (
        Int64, Bool
    ) {
        let accessor = grant.accessor
        let parameters = try JSONText.encode(draft.parameters ?? [:])
        let training = draft.trainingMetrics ?? [:], validation = draft.validationMetrics ?? [:]
        let tags = draft.tags ?? [:]
        let trainingText = try JSONText.encode(training), validationText = try JSONText.encode(validation),
            tagsText = try JSONText.encode(tags)
        return try await database.transaction { conn in
            let now = WallClock.now.roundedToStoredPrecision
            try conn.execute(
                """
                INSERT INTO ml_models (name, description, created_by, created_at, updated_at)
                VALUES (\(model), \(draft.description ?? ""), \(accessor), \(now), \(now)) ON CONFLICT (name) DO NOTHING
                """)
            // One registration of a model at a time on PostgreSQL (SQLite has one writer anyway).
            if conn.dialect == .postgres { _ = try conn.query("SELECT name FROM ml_models WHERE name = \(model) FOR UPDATE") }
            if draft.ifNewDigest == true,
                let existing = try conn.queryScalar(
                    Int64?.self, "SELECT min(version) FROM ml_model_registry WHERE name = \(model) AND artifact_digest = \(digest)") ?? nil
            {
                return (existing, false)
            }
            let latest = try conn.query(
                LatestVersionRecord.self,
                """
                SELECT \(columns: LatestVersionRecord.Column.self) FROM ml_model_registry
                WHERE name = \(model) ORDER BY version DESC LIMIT 1
                """
            ).first
            let version = (latest?.version ?? 0) + 1
            let label = draft.versionLabel ?? "\(version).0.0"
            if let latest, let previous = SemanticVersion(latest.label),
                let next = SemanticVersion(label), !(previous < next)
            {
                throw SuiteError(
                    .conflict,
                    """
                    version_label \(label) does not rise above \(latest.label) of \
                    version \(version - 1): versions only go up
                    """
                )
            }
            try conn.execute(
                """
                INSERT INTO ml_model_registry (name, version, version_label, model_type, algorithm, parameters, training_metrics,
                    validation_metrics, tags, source, training_data, artifact_digest, artifact_size, status, created_by,
                    created_at, updated_at)
                VALUES (\(model), \(version), \(label), \(draft.modelType ?? ""), \(draft.algorithm ?? ""), \(parameters), \(trainingText),
                    \(validationText), \(tagsText), \(draft.source ?? ""), \(draft.trainingData ?? ""), \(digest), \(size),
                    \(ModelStatus.registered), \(accessor), \(now), \(now))
                """)
            for (scope, metrics) in [("training", training), ("validation", validation)] {
                for (metric, value) in metrics {
                    try conn.execute(
                        """
                        INSERT INTO ml_model_metrics (name, version, scope, metric, value) VALUES (\(model), \(version),
                        \(scope), \(metric), \(value))
                        """
                    )
                }
            }
            for (tag, value) in tags {
                try conn.execute("INSERT INTO ml_model_tags (name, version, tag, value) VALUES (\(model), \(version), \(tag), \(value))")
            }
            try Self.record(
                conn, model: model, version: version, kind: .registered, toStatus: .registered, note: "", accessor: accessor, at: now)
            try conn.execute("UPDATE ml_models SET updated_at = \(now) WHERE name = \(model)")
            return (version, true)
        }
    }

    private func isReferenced(_ digest: String) async throws -> Bool {
        try await database.read { conn in
            try conn.queryScalar(Int64.self, "SELECT count(*) FROM ml_model_registry WHERE artifact_digest = \(digest)") ?? 0 > 0
        }
    }

    private static func record(
        _ conn: any SQLConnection, model: String, version: Int64, kind: ModelEvent.Kind, alias: String? = nil,
        fromStatus: ModelStatus? = nil, toStatus: ModelStatus? = nil, previousVersion: Int64? = nil,
        note: String, accessor: String, at: Date
    ) throws {
        try conn.execute(
            """
            INSERT INTO ml_model_history (name, version, event, alias, from_status, to_status, previous_version, note, accessor, at)
            VALUES (\(model), \(version), \(kind), \(alias), \(fromStatus), \(toStatus), \(previousVersion), \(note), \(accessor), \(at))
            """)
    }

    // MARK: reading

    /// Every model's name, sorted.
    public func models(_ grant: Grant) async throws -> [String] {
        try await database.read { conn in
            try conn.query("SELECT name FROM ml_models ORDER BY name").map { try $0.decode(String.self, at: 0) }
        }
    }

    /// One model with its version counts and aliases.
    /// - Throws: ``SuiteError`` `.notFound`.
    public func model(_ grant: Grant, _ name: String) async throws -> ModelSummary {
        try await database.read { conn in
            guard let row = try conn.queryFirst("SELECT \(columns: ModelColumn.self) FROM ml_models WHERE name = \(name)") else {
                throw Self.unknownModel(name)
            }
            var statuses: [ModelStatus: Int64] = [:]
            var latest: Int64 = 0, count: Int64 = 0
            for status in try conn.query(
                StatusCountRecord.self,
                "SELECT status, count(*) AS n, max(version) AS latest FROM ml_model_registry WHERE name = \(name) GROUP BY status")
            {
                statuses[status.status] = status.count
                count += status.count
                latest = max(latest, status.latest)
            }
            var aliases: [String: Int64] = [:]
            for alias in try conn.query(
                ModelAliasRecord.self, "SELECT \(columns: ModelAliasRecord.Column.self) FROM ml_model_aliases WHERE name = \(name)")
            {
                aliases[alias.alias] = alias.version
            }
            return ModelSummary(
                name: name, description: try row.decode(ModelColumn.description), createdBy: try row.decode(ModelColumn.createdBy),
                createdAt: try row.decode(ModelColumn.createdAt), updatedAt: try row.decode(ModelColumn.updatedAt),
                latestVersion: latest, versions: count, aliases: aliases, statuses: statuses)
        }
    }

    /// Every version of a model, newest first.
    public func versions(_ grant: Grant, model: String) async throws -> [ModelVersion] {
        try await database.read { conn in
            guard try conn.queryFirst("SELECT name FROM ml_models WHERE name = \(model)") != nil else { throw Self.unknownModel(model) }
            return try Self.withAliases(
                conn,
                try conn.query(
                    ModelVersion.self,
                    "SELECT \(columns: ModelVersion.Column.self) FROM ml_model_registry WHERE name = \(model) ORDER BY version DESC"))
        }
    }

    /// One version by number, alias or `latest`.
    /// - Throws: ``SuiteError`` `.notFound` naming what is unknown.
    public func version(_ grant: Grant, model: String, _ reference: VersionReference) async throws -> ModelVersion {
        try await database.read { conn in try Self.version(conn, model: model, reference) }
    }

    static func version(_ conn: any SQLConnection, model: String, _ reference: VersionReference) throws -> ModelVersion {
        let query: SQLQuery =
            switch reference {
            case .number(let number):
                "SELECT \(columns: ModelVersion.Column.self) FROM ml_model_registry WHERE name = \(model) AND version = \(number)"
            case .latest:
                "SELECT \(columns: ModelVersion.Column.self) FROM ml_model_registry WHERE name = \(model) ORDER BY version DESC LIMIT 1"
            case .alias(let alias):
                """
                SELECT \(columns: ModelVersion.Column.self, of: "r") FROM ml_model_registry r
                JOIN ml_model_aliases a ON a.name = r.name AND a.version = r.version WHERE a.name = \(model) AND a.alias = \(alias)
                """
            }
        guard let found = try conn.query(ModelVersion.self, query).first else {
            guard try conn.queryFirst("SELECT name FROM ml_models WHERE name = \(model)") != nil else { throw unknownModel(model) }
            switch reference {
            case .number(let number): throw SuiteError(.notFound, "model \(model) has no version \(number)")
            case .alias(let alias): throw SuiteError(.notFound, "model \(model) has no alias \(alias)")
            case .latest: throw SuiteError(.notFound, "model \(model) has no version yet")
            }
        }
        return try withAliases(conn, [found])[0]
    }

    static func unknownModel(_ name: String) -> SuiteError {
        SuiteError(.notFound, "no model named \(name): list them with coffer model list")
    }

    private static func withAliases(_ conn: any SQLConnection, _ versions: [ModelVersion]) throws -> [ModelVersion] {
        guard let model = versions.first?.name, Set(versions.map(\.name)).count == 1 else {
            return try versions.map { try withAliases(conn, [$0])[0] }
        }
        var byVersion: [Int64: [String]] = [:]
        for row in try conn.query(
            ModelAliasRecord.self,
            "SELECT \(columns: ModelAliasRecord.Column.self) FROM ml_model_aliases WHERE name = \(model) ORDER BY alias")
        {
            byVersion[row.version, default: []].append(row.alias)
        }
        return versions.map { version in
            var version = version
            version.aliases = byVersion[version.version] ?? []
            return version
        }
    }

    // MARK: lifecycle and aliases

    /// Moves a version forward to `status` (retiring it needs no alias to point at it).
    /// - Throws: ``SuiteError`` `.conflict` for a move backwards, out of `retired`, or retiring an aliased version.
    public func setStatus(_ grant: Grant, model: String, version: Int64, to status: ModelStatus, note: String = "") async throws
        -> ModelVersion
    {
        let accessor = grant.accessor
        try await database.transaction { conn in
            let current = try Self.version(conn, model: model, .number(version))
            guard current.status != status else { return }
            guard current.status != .retired else {
                throw SuiteError(.conflict, "version \(version) of \(model) is retired; a retired version stays retired")
            }
            guard current.status < status else {
                throw SuiteError(
                    .conflict,
                    """
                    version \(version) of \(model) is \(current.status.rawValue); a version only moves forward: registered → \
                    staged → deployed → retired
                    """
                )
            }
            if status == .retired, !current.aliases.isEmpty {
                throw SuiteError(
                    .conflict,
                    """
                    version \(version) of \(model) holds the alias \(current.aliases.joined(separator: ", ")): move or remove the \
                    alias before retiring it
                    """
                )
            }
            let now = WallClock.now.roundedToStoredPrecision
            try conn.execute(
                "UPDATE ml_model_registry SET status = \(status), updated_at = \(now) WHERE name = \(model) AND version = \(version)"
            )
            try Self.record(
                conn, model: model, version: version, kind: .status, fromStatus: current.status, toStatus: status, note: note,
                accessor: accessor, at: now)
        }
        return try await self.version(grant, model: model, .number(version))
    }

    /// Points `alias` at `version` (moving it if it pointed elsewhere).
    /// - Throws: ``SuiteError`` `.invalid` for a numeric or malformed alias, `.conflict` for a retired version.
    public func setAlias(_ grant: Grant, model: String, alias: String, version: Int64, note: String = "") async throws {
        try Self.checkAlias(alias)
        let accessor = grant.accessor
        try await database.transaction { conn in
            let target = try Self.version(conn, model: model, .number(version))
            guard target.status != .retired else {
                throw SuiteError(.conflict, "version \(version) of \(model) is retired: an alias cannot point at it")
            }
            let previous = try conn.queryScalar(
                Int64.self, "SELECT version FROM ml_model_aliases WHERE name = \(model) AND alias = \(alias)")
            let now = WallClock.now.roundedToStoredPrecision
            // The insert decides create vs update even when two writers race: only one of them inserts.
            let inserted =
                previous == nil
                ? try conn.execute(
                    """
                    INSERT INTO ml_model_aliases (name, alias, version, updated_by, updated_at) VALUES (\(model), \(alias),
                    \(version), \(accessor), \(now))
                    ON CONFLICT (name, alias) DO NOTHING
                    """) : 0
            try grant.requireWrite(exists: inserted == 0)
            if inserted == 0 {
                guard previous != version else { return }
                try conn.execute(
                    """
                    UPDATE ml_model_aliases SET version = \(version), updated_by = \(accessor), updated_at = \(now) WHERE name =
                    \(model) AND alias = \(alias)
                    """)
            }
            try Self.record(
                conn, model: model, version: version, kind: .aliasSet, alias: alias, previousVersion: previous, note: note,
                accessor: accessor, at: now)
        }
    }

    /// Removes `alias`.
    /// - Throws: ``SuiteError`` `.notFound` when the model has no such alias.
    public func removeAlias(_ grant: Grant, model: String, alias: String) async throws {
        let accessor = grant.accessor
        try await database.transaction { conn in
            guard
                let version = try conn.queryScalar(
                    Int64.self, "SELECT version FROM ml_model_aliases WHERE name = \(model) AND alias = \(alias)")
            else {
                throw SuiteError(.notFound, "model \(model) has no alias \(alias)")
            }
            try conn.execute("DELETE FROM ml_model_aliases WHERE name = \(model) AND alias = \(alias)")
            try Self.record(
                conn, model: model, version: version, kind: .aliasRemoved, alias: alias, previousVersion: version, note: "",
                accessor: accessor, at: WallClock.now.roundedToStoredPrecision)
        }
    }

    static func checkAlias(_ alias: String) throws {
        try Names.check(alias, what: "an alias", maxLength: 64)
        guard Int64(alias) == nil, alias != "latest" else {
            throw SuiteError(.invalid, "an alias cannot be a number or \"latest\" (those name versions): use a word such as champion")
        }
    }

    /// The model's history, oldest first.
    public func history(_ grant: Grant, model: String) async throws -> [ModelEvent] {
        try await database.read { conn in
            guard try conn.queryFirst("SELECT name FROM ml_models WHERE name = \(model)") != nil else { throw Self.unknownModel(model) }
            return try conn.query(
                ModelEvent.self, "SELECT \(columns: ModelEvent.Column.self) FROM ml_model_history WHERE name = \(model) ORDER BY id")
        }
    }

    /// Which version held each alias when, and who set it: from the history.
    public static func tenures(_ events: [ModelEvent]) -> [AliasTenure] {
        var open: [String: (version: Int64, from: Date, by: String)] = [:]
        var tenures: [AliasTenure] = []
        for event in events {
            guard let alias = event.alias, event.kind == .aliasSet || event.kind == .aliasRemoved else { continue }
            if let held = open.removeValue(forKey: alias) {
                tenures.append(AliasTenure(alias: alias, version: held.version, from: held.from, until: event.at, setBy: held.by))
            }
            if event.kind == .aliasSet { open[alias] = (event.version, event.at, event.accessor) }
        }
        for (alias, held) in open {
            tenures.append(AliasTenure(alias: alias, version: held.version, from: held.from, until: nil, setBy: held.by))
        }
        return tenures.sorted { ($0.alias, $0.from) < ($1.alias, $1.from) }
    }

    // MARK: search

    /// Versions across models by name, status, tags and metric thresholds, ordered by a metric (or newest first).
    public func search(_ grant: Grant, _ search: ModelSearch) async throws -> [ModelVersion] {
        guard (1...1000).contains(search.limit) else { throw SuiteError(.invalid, "limit must be from 1 to 1000") }
        var query: SQLQuery = "SELECT \(columns: ModelVersion.Column.self, of: "r") FROM ml_model_registry r"
        if let order = search.orderBy {
            query.append(
                """
                 LEFT JOIN ml_model_metrics o ON o.name = r.name AND o.version = r.version
                 AND o.scope = \(order.scope) AND o.metric = \(order.metric)
                """)
        }
        query.append(" WHERE 1 = 1")
        if let name = search.name { query.append(" AND r.name = \(name)") }
        if let status = search.status { query.append(" AND r.status = \(status)") }
        for (tag, value) in search.tags.sorted(by: { $0.key < $1.key }) {
            query.append(
                """
                 AND EXISTS (SELECT 1 FROM ml_model_tags t WHERE t.name = r.name AND t.version = r.version
                 AND t.tag = \(tag) AND t.value = \(value))
                """)
        }
        for filter in search.metrics {
            // The comparison is one of five fixed operators, never text from the request.
            query.append(
                """
                 AND EXISTS (SELECT 1 FROM ml_model_metrics m WHERE m.name = r.name AND m.version = r.version AND m.scope = \(filter.scope)
                 AND m.metric = \(filter.metric) AND m.value \(unsafeRaw: filter.comparison.rawValue) \(filter.value))
                """)
        }
        if let order = search.orderBy {
            query.append(
                """
                 ORDER BY CASE WHEN o.value IS NULL THEN 1 ELSE 0 END, o.value \(unsafeRaw: order.descending ? "DESC" : "ASC"),
                 r.name, r.version DESC
                """)
        } else {
            query.append(" ORDER BY r.created_at DESC, r.name, r.version DESC")
        }
        query.append(" LIMIT \(Int64(search.limit))")
        let found = query
        return try await database.read { conn in try conn.query(ModelVersion.self, found).map { try Self.withAliases(conn, [$0])[0] } }
    }

    // MARK: artifacts

    /// The version's artifact, checked against its digest before a byte is handed out.
    /// - Throws: ``SuiteError`` `.notFound`, or `.integrity` when the blob is missing or damaged.
    public func artifact(_ grant: Grant, model: String, _ reference: VersionReference) async throws -> (ModelVersion, BlobReader) {
        let version = try await self.version(grant, model: model, reference)
        let blobs = blobs
        let reader = try await Task.detached { try blobs.open(version.artifactDigest.hex, size: version.artifactSize) }.value
        return (version, reader)
    }

    /// Removes artifacts no version references (and abandoned uploads) older than `grace`.
    public func collectGarbage(_ grant: Grant, grace: TimeInterval = 3600) async throws -> (files: Int, bytes: Int64) {
        let referenced = try await database.read { conn in
            Set(try conn.query("SELECT DISTINCT artifact_digest FROM ml_model_registry").map { try $0.decode(String.self, at: 0) })
        }
        let blobs = blobs
        return await Task.detached { blobs.collectGarbage(referenced: referenced, grace: grace) }.value
    }
}
