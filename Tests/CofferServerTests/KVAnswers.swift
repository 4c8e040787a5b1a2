import CofferFoundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// KV version 2's answers as a client reads them (Vault's field names), so the KV tests check typed values
/// rather than walking `[String: Any]`.
enum KV {
    /// A version's metadata: a write's `data`, a read's `metadata`, an entry of `versions`.
    struct Version: Decodable {
        let version: Int?
        let createdTime: String
        let deletionTime: String
        let destroyed: Bool

        enum CodingKeys: String, CodingKey {
            case version, destroyed
            case createdTime = "created_time", deletionTime = "deletion_time"
        }
    }

    /// A read of `mount/data/path`: the secret's data (`null` once deleted) and its version's metadata.
    struct Read: Decodable {
        let data: [String: JSONValue]?
        let metadata: Version
    }

    /// `mount/metadata/path`.
    struct Metadata: Decodable {
        let currentVersion: Int
        let oldestVersion: Int
        let versions: [String: Version]
        let rotationInterval: String?
        let rotationKind: String?
        let rotationSchedule: String?
        let nextRotationTime: String?
        let lastRotatedTime: String?
        let rotationFailures: Int?
        /// The labels' versions: `null` on the wire when the label points nowhere (`.null`, not a missing field).
        let pendingVersion: JSONValue
        let previousVersion: JSONValue
        let expiresAt: String?

        enum CodingKeys: String, CodingKey {
            case versions
            case currentVersion = "current_version", oldestVersion = "oldest_version"
            case rotationInterval = "rotation_interval", rotationKind = "rotation_kind", rotationSchedule = "rotation_schedule"
            case nextRotationTime = "next_rotation_time", lastRotatedTime = "last_rotated_time"
            case rotationFailures = "rotation_failures", pendingVersion = "pending_version", previousVersion = "previous_version"
            case expiresAt = "expires_at"
        }
    }

    /// A LIST answer.
    struct Keys: Decodable {
        let keys: [String]
    }

    /// `mount/subkeys/path`: the data's shape, every value `null`.
    struct Subkeys: Decodable {
        let subkeys: [String: JSONValue]
    }

    /// `mount/config`.
    struct Config: Decodable {
        let deleteVersionAfter: String

        enum CodingKeys: String, CodingKey { case deleteVersionAfter = "delete_version_after" }
    }
}

extension TestClientProtocol {
    /// A KV version 2 read (`secret/data/<path><query>`) as `token`: the secret's data.
    func kvRead(_ token: String, _ path: String, query: String = "") async throws -> [String: JSONValue] {
        let (status, answered) = try await answer(KV.Read.self, "/v1/secret/data/\(path)\(query)", .get, token: token)
        #expect(status == .ok, "\(path)\(query): \(answered.errors ?? [])")
        return answered.data?.data ?? [:]
    }

    /// `secret/metadata/<path>` as `token`.
    func kvMetadata(_ token: String, _ path: String) async throws -> KV.Metadata {
        try #require(try await answer(KV.Metadata.self, "/v1/secret/metadata/\(path)", .get, token: token).1.data)
    }
}
