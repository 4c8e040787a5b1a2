import CofferFoundation
public import CofferStore
import Foundation

// The model registry's rows: one record per table, its columns named once and read by position.

extension ModelStatus: SQLTextEnum {}
extension ModelEvent.Kind: SQLTextEnum {}

extension ModelVersion: SQLRowDecodable {
    /// The columns of `ml_model_registry`.
    enum Column: String, SQLColumn {
        case name, version, versionLabel = "version_label", modelType = "model_type", algorithm, parameters
        case trainingMetrics = "training_metrics", validationMetrics = "validation_metrics", tags, source
        case trainingData = "training_data", artifactDigest = "artifact_digest", artifactSize = "artifact_size", status
        case createdBy = "created_by", createdAt = "created_at", updatedAt = "updated_at"
    }

    /// The version as stored; its aliases live in `ml_model_aliases` and are added by the registry.
    public init(row: SQLRow) throws {
        name = try row.decode(Column.name)
        version = try row.decode(Column.version)
        versionLabel = try row.decode(Column.versionLabel)
        modelType = try row.decode(Column.modelType)
        algorithm = try row.decode(Column.algorithm)
        parameters = try JSONText.decode([String: JSONValue].self, try row.decode(Column.parameters))
        trainingMetrics = try JSONText.decode([String: Double].self, try row.decode(Column.trainingMetrics))
        validationMetrics = try JSONText.decode([String: Double].self, try row.decode(Column.validationMetrics))
        tags = try JSONText.decode([String: String].self, try row.decode(Column.tags))
        source = try row.decode(Column.source)
        trainingData = try row.decode(Column.trainingData)
        artifactDigest = ArtifactDigest(hex: try row.decode(Column.artifactDigest))
        artifactSize = try row.decode(Column.artifactSize)
        status = try row.decode(Column.status)
        createdBy = try row.decode(Column.createdBy)
        createdAt = try row.decode(Column.createdAt)
        updatedAt = try row.decode(Column.updatedAt)
        aliases = []
    }
}

extension ModelEvent: SQLRowDecodable {
    /// The columns of `ml_model_history` that make an event (not the model's name, which the query fixes).
    enum Column: String, SQLColumn {
        case id, version, kind = "event", alias, fromStatus = "from_status", toStatus = "to_status"
        case previousVersion = "previous_version", note, accessor, at
    }

    public init(row: SQLRow) throws {
        // Through the memberwise initializer: its optional fields are wrapped (`@EncodesNull`), and a wrapped
        // field can only be initialised in the file that declares it.
        self.init(
            id: try row.decode(Column.id), version: try row.decode(Column.version), kind: try row.decode(Column.kind),
            alias: try row.decode(Column.alias), fromStatus: try row.decode(Column.fromStatus),
            toStatus: try row.decode(Column.toStatus), previousVersion: try row.decode(Column.previousVersion),
            note: try row.decode(Column.note), accessor: try row.decode(Column.accessor), at: try row.decode(Column.at))
    }
}

extension ModelPerformanceRow: SQLRowDecodable {
    /// The columns of the `model_performance` view.
    enum Column: String, SQLColumn {
        case name, version, versionLabel = "version_label", status, scope, metric, value, champion
    }

    public init(row: SQLRow) throws {
        name = try row.decode(Column.name)
        version = try row.decode(Column.version)
        versionLabel = try row.decode(Column.versionLabel)
        status = try row.decode(Column.status)
        metric = "\(try row.decode(Column.scope, as: String.self)).\(try row.decode(Column.metric, as: String.self))"
        value = try row.decode(Column.value)
        champion = try row.decode(Column.champion, as: Int64.self) == 1
    }
}

/// The columns of `ml_models` a summary reads.
enum ModelColumn: String, SQLColumn {
    case description, createdBy = "created_by", createdAt = "created_at", updatedAt = "updated_at"
}

/// An `ml_model_aliases` row: which version an alias names.
struct ModelAliasRecord: SQLRecord {
    let alias: String
    let version: Int64

    /// The columns of `ml_model_aliases` read for a model.
    enum Column: String, SQLColumn, CodingKey { case alias, version }
    typealias CodingKeys = Column
}

/// A model's newest version and its label (`ml_model_registry`), which a new version must rise above.
struct LatestVersionRecord: SQLRecord {
    let version: Int64
    let label: String

    enum Column: String, SQLColumn, CodingKey { case version, label = "version_label" }
    typealias CodingKeys = Column
}

/// A row of a model's per-status counts: how many versions have the status, and the newest of them.
struct StatusCountRecord: SQLRecord {
    let status: ModelStatus
    let count: Int64
    let latest: Int64

    /// The query's select list (aggregates under these aliases).
    enum Column: String, SQLColumn, CodingKey { case status, count = "n", latest }
    typealias CodingKeys = Column
}
