package import CofferFoundation
import HTTPTypes
package import HummingbirdTesting

/// KV version 2's answers as a client reads them (Vault's field names), so the KV tests check typed values
/// rather than walking `[String: Any]`.
package enum KV {
    /// A version's metadata: a write's `data`, a read's `metadata`, an entry of `versions`.
    package struct Version: Decodable {
        package let version: Int?
        package let createdTime: String
        package let deletionTime: String
        package let destroyed: Bool

        enum CodingKeys: String, CodingKey {
            case version, destroyed
            case createdTime = "created_time", deletionTime = "deletion_time"
        }
    }

    /// A read of `mount/data/path`: the secret's data (`null` once deleted) and its version's metadata.
    package struct Read: Decodable {
        package let data: [String: JSONValue]?
        package let metadata: Version
    }

    /// `mount/metadata/path`.
    package struct Metadata: Decodable {
        package let currentVersion: Int
        package let oldestVersion: Int
        package let maxVersions: Int
        package let customMetadata: [String: String]?
        package let versions: [String: Version]
        package let rotationInterval: String?
        package let rotationKind: String?
        package let rotationSchedule: String?
        package let nextRotationTime: String?
        package let lastRotatedTime: String?
        package let rotationFailures: Int?
        /// The labels' versions: `null` on the wire when the label points nowhere (`.null`, not a missing field).
        package let pendingVersion: JSONValue
        package let previousVersion: JSONValue
        package let expiresAt: String?

        enum CodingKeys: String, CodingKey {
            case versions
            case currentVersion = "current_version", oldestVersion = "oldest_version", maxVersions = "max_versions", customMetadata =
                "custom_metadata"
            case rotationInterval = "rotation_interval", rotationKind = "rotation_kind", rotationSchedule = "rotation_schedule"
            case nextRotationTime = "next_rotation_time", lastRotatedTime = "last_rotated_time"
            case rotationFailures = "rotation_failures", pendingVersion = "pending_version", previousVersion = "previous_version"
            case expiresAt = "expires_at"
        }
    }

    /// A LIST answer.
    package struct Keys: Decodable {
        package let keys: [String]
    }

    /// `mount/subkeys/path`: the data's shape, every value `null`.
    package struct Subkeys: Decodable {
        package let subkeys: [String: JSONValue]
    }

    /// `mount/config`.
    package struct Config: Decodable {
        package let deleteVersionAfter: String

        enum CodingKeys: String, CodingKey { case deleteVersionAfter = "delete_version_after" }
    }
}

extension TestClientProtocol {
    /// A KV version 2 read (`secret/data/<path><query>`) as `token`: the secret's data.
    package func kvRead(_ token: String, _ path: String, query: String = "") async throws -> [String: JSONValue] {
        let (status, answered) = try await answer(KV.Read.self, "/v1/secret/data/\(path)\(query)", .get, token: token)
        guard status == .ok else { throw FixtureFailure("read \(path)\(query): \(status) \(answered.errors ?? [])") }
        return answered.data?.data ?? [:]
    }

    /// `secret/metadata/<path>` as `token`.
    package func kvMetadata(_ token: String, _ path: String) async throws -> KV.Metadata {
        try required(try await answer(KV.Metadata.self, "/v1/secret/metadata/\(path)", .get, token: token).1.data, "metadata of \(path)")
    }
}
