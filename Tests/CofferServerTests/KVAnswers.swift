import CofferFoundation

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
        let nextRotationTime: String?
        let expiresAt: String?

        enum CodingKeys: String, CodingKey {
            case versions
            case currentVersion = "current_version", oldestVersion = "oldest_version"
            case rotationInterval = "rotation_interval", rotationKind = "rotation_kind"
            case nextRotationTime = "next_rotation_time", expiresAt = "expires_at"
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
