public import CofferFoundation
public import Foundation

/// Where a model version is in its life. A version only moves forward: registered → staged → deployed →
/// retired (a step may be skipped); a retired version stays retired.
public enum ModelStatus: String, Sendable, Codable, CodingKeyRepresentable, CaseIterable, Comparable {
    case registered, staged, deployed, retired

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (lhs: ModelStatus, rhs: ModelStatus) -> Bool { lhs.rank < rhs.rank }
}

/// What a registration says about the new version (the JSON of `X-Coffer-Model` and `coffer model register`).
public struct ModelVersionDraft: Sendable, Codable, Equatable {
    /// Semantic version (`1.4.0`, `2.0.0-rc.1`); must rise with every version. Default: `<version>.0.0`.
    public var versionLabel: String?
    public var modelType: String?
    public var algorithm: String?
    public var parameters: [String: JSONValue]?
    public var trainingMetrics: [String: Double]?
    public var validationMetrics: [String: Double]?
    public var tags: [String: String]?
    /// Lineage: the run, notebook or commit the model came from.
    public var source: String?
    /// Lineage: the training data it was fitted on.
    public var trainingData: String?
    /// The digest the uploader expects (`sha256:<hex>` or hex): a mismatch refuses the upload.
    public var artifactDigest: String?
    /// When the model already has a version with this artifact, answer that one instead of adding another
    /// (`coffer model import` is idempotent this way).
    public var ifNewDigest: Bool?
    /// The model's description, used when this registration creates the model.
    public var description: String?

    enum CodingKeys: String, CodingKey {
        case versionLabel = "version_label", modelType = "model_type", algorithm, parameters
        case trainingMetrics = "training_metrics", validationMetrics = "validation_metrics", tags, source
        case trainingData = "training_data", artifactDigest = "artifact_digest", ifNewDigest = "if_new_digest", description
    }

    public init() {}
}

/// A model artifact's SHA-256, as lowercase hex; written `sha256:<hex>` wherever it leaves the registry.
public struct ArtifactDigest: Sendable, Hashable, Encodable, CustomStringConvertible {
    public let hex: String

    public init(hex: String) { self.hex = hex }

    /// `sha256:<hex>`.
    public var description: String { "sha256:" + hex }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// One registered version, encoded as its answer (`…/versions/:version`).
public struct ModelVersion: Sendable, Equatable, Encodable {
    public let name: String
    public let version: Int64
    public let versionLabel: String
    public let modelType: String
    public let algorithm: String
    public let parameters: [String: JSONValue]
    public let trainingMetrics: [String: Double]
    public let validationMetrics: [String: Double]
    public let tags: [String: String]
    public let source: String
    public let trainingData: String
    public let artifactDigest: ArtifactDigest
    public let artifactSize: Int64
    public let status: ModelStatus
    /// The accessor of the token that registered it.
    public let createdBy: String
    public let createdAt: Date
    public let updatedAt: Date
    /// The aliases pointing at it now.
    public internal(set) var aliases: [String]

    enum CodingKeys: String, CodingKey {
        case name, version, versionLabel = "version_label", modelType = "model_type", algorithm, parameters
        case trainingMetrics = "training_metrics", validationMetrics = "validation_metrics", tags, source
        case trainingData = "training_data", artifactDigest = "artifact_digest", artifactSize = "artifact_size", status
        case createdBy = "created_by", createdAt = "created_time", updatedAt = "updated_time", aliases
    }
}

/// A model: its versions' count, the latest, and where its aliases point.
public struct ModelSummary: Sendable, Equatable, Encodable {
    public let name: String
    public let description: String
    public let createdBy: String
    public let createdAt: Date
    public let updatedAt: Date
    public let latestVersion: Int64
    public let versions: Int64
    public let aliases: [String: Int64]
    /// How many versions are in each status.
    public let statuses: [ModelStatus: Int64]

    enum CodingKeys: String, CodingKey {
        case name, description, createdBy = "created_by", createdAt = "created_time", updatedAt = "updated_time"
        case latestVersion = "latest_version", versions, aliases, statuses
    }
}

/// One entry of a model's history: a registration, a status change, or an alias set or removed.
public struct ModelEvent: Sendable, Equatable, Encodable {
    public enum Kind: String, Sendable, Encodable { case registered, status, aliasSet = "alias_set", aliasRemoved = "alias_removed" }
    public let id: Int64
    public let version: Int64
    public let kind: Kind
    @EncodesNull public internal(set) var alias: String?
    @EncodesNull public internal(set) var fromStatus: ModelStatus?
    @EncodesNull public internal(set) var toStatus: ModelStatus?
    /// For an alias: the version it pointed at before.
    @EncodesNull public internal(set) var previousVersion: Int64?
    public let note: String
    public let accessor: String
    public let at: Date

    enum CodingKeys: String, CodingKey {
        case id, version, kind = "event", alias, fromStatus = "from_status", toStatus = "to_status"
        case previousVersion = "previous_version", note, accessor, at = "time"
    }
}

/// Which version held an alias, from when until when (`until` nil: it still does).
public struct AliasTenure: Sendable, Equatable, Encodable {
    public let alias: String
    public let version: Int64
    public let from: Date
    @EncodesNull public internal(set) var until: Date?
    public let setBy: String

    enum CodingKeys: String, CodingKey { case alias, version, from, until, setBy = "set_by" }
}

/// A version by number, by alias, or the latest.
public enum VersionReference: Sendable, Equatable {
    case number(Int64)
    case alias(String)
    case latest

    /// `3`, `latest`, or an alias name.
    public init(parsing text: String) {
        if let number = Int64(text), number > 0 {
            self = .number(number)
        } else if text == "latest" {
            self = .latest
        } else {
            self = .alias(text)
        }
    }
}

/// A search over every model's versions.
public struct ModelSearch: Sendable, Equatable {
    public var name: String?
    public var status: ModelStatus?
    /// Every tag must match.
    public var tags: [String: String] = [:]
    /// Every filter must hold.
    public var metrics: [MetricFilter] = []
    public var orderBy: MetricOrder?
    public var limit: Int = 100

    public init() {}
}

/// A metric threshold: `training.accuracy > 0.8`, `validation.rmse <= 1.5`.
public struct MetricFilter: Sendable, Equatable {
    public typealias Comparison = CofferFoundation.Comparison
    public let scope: String
    public let metric: String
    public let comparison: Comparison
    public let value: Double

    /// Parses `scope.metric OP number`, scope `training` or `validation`.
    /// - Throws: ``SuiteError`` `.invalid` saying what a filter looks like.
    public init(parsing text: String) throws {
        let usage = "a metric filter looks like training.accuracy > 0.8 (scope training or validation; >, >=, <, <=, =)"
        guard let comparison = Comparison.allCases.first(where: { text.contains($0.rawValue) }),
            let range = text.range(of: comparison.rawValue)
        else { throw SuiteError(.invalid, usage) }
        let left = text[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
        let right = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
        (scope, metric) = try MetricOrder.split(left, usage: usage)
        guard let value = Double(right), value.isFinite else { throw SuiteError(.invalid, usage) }
        self.comparison = comparison
        self.value = value
    }
}

/// Versions ordered by one metric (missing values last).
public struct MetricOrder: Sendable, Equatable {
    public let scope: String
    public let metric: String
    public let descending: Bool

    /// Parses `scope.metric [asc|desc]` (default descending: best first for scores).
    public init(parsing text: String) throws {
        let usage = "order by looks like validation.f1 desc (scope training or validation; asc or desc)"
        let words = text.split(separator: " ").map(String.init)
        guard (1...2).contains(words.count) else { throw SuiteError(.invalid, usage) }
        (scope, metric) = try Self.split(words[0], usage: usage)
        switch words.count == 2 ? words[1].lowercased() : "desc" {
        case "desc": descending = true
        case "asc": descending = false
        default: throw SuiteError(.invalid, usage)
        }
    }

    static func split(_ text: String, usage: String) throws -> (String, String) {
        let parts = text.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, ["training", "validation"].contains(parts[0]), !parts[1].isEmpty else { throw SuiteError(.invalid, usage) }
        return (parts[0], parts[1])
    }
}
