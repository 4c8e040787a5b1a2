import CofferFoundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The feature store's and the cache's answers as a client reads them (the wire's field names), so the suite
/// tests check typed values rather than walking `[String: Any]`.
enum Features {
    /// One feature's latest value in a read: `value` is `.null` when the wire says `null`.
    struct Reading: Decodable {
        let status: String
        let value: JSONValue
    }

    /// `coffer/features/read/<set>` and `GET coffer/features/values/<set>`: entity, then feature.
    struct Read: Decodable {
        let entities: [String: [String: Reading]]
    }

    /// `coffer/features/history/…`, oldest first.
    struct History: Decodable {
        struct Point: Decodable { let value: JSONValue }
        let points: [Point]
    }

    /// `coffer/features/stats/<set>`.
    struct Statistics: Decodable {
        struct Feature: Decodable {
            let feature: String
            let count: Int
            let nulls: Int
            let min: JSONValue
            let max: JSONValue
            let mean: JSONValue
        }
        let features: [Feature]
        let hits: Int
        let misses: Int
        let expired: Int
    }

    /// A batch write.
    struct Written: Decodable { let written: Int }
}

/// A prune or a purge: how many rows went.
struct Removed: Decodable {
    let removed: Int
}

enum Cache {
    /// `GET coffer/cache/entries/<namespace>/<key>`.
    struct Entry: Decodable {
        let value: String
        let source: String
        /// `null` for an entry that never expires.
        let expiresTime: String?

        enum CodingKeys: String, CodingKey {
            case value, source
            case expiresTime = "expires_time"
        }
    }

    /// `coffer/cache/stats/<namespace>`.
    struct Statistics: Decodable {
        let hits: Int
        let misses: Int
        let entries: Int
        let bytes: Int
    }
}

extension JSONValue {
    /// The text, when the value is a string.
    var string: String? {
        if case .string(let text) = self { text } else { nil }
    }

    /// A number, whichever way the wire wrote it (`7` decodes as an integer, `7.5` as a double).
    var double: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }
}

extension TestClientProtocol {
    /// A feature read (`POST …/read/<set>` with `body`, or `GET …/values/<set>?…`) as `token`: entity, then feature.
    func features(
        _ token: String, _ uri: String, method: HTTPRequest.Method = .post, _ body: [String: Any]? = nil
    ) async throws -> [String: [String: Features.Reading]] {
        let (status, read) = try await answer(Features.Read.self, uri, method, token: token, body)
        #expect(status == .ok, "\(uri): \(read.errors ?? [])")
        return read.data?.entities ?? [:]
    }
}

enum Models {
    /// A registered version (a registration's answer, `…/versions/<n|alias>`, an entry of a search).
    struct Version: Decodable {
        let name: String
        let version: Int
        let status: String
        let artifactDigest: String
        let artifactSize: Int
        let createdBy: String
        let trainingData: String
        let parameters: [String: JSONValue]
        let aliases: [String]
        /// Present in a registration's answer: `false` when an identical artifact was already registered.
        let created: Bool?

        enum CodingKeys: String, CodingKey {
            case name, version, status, parameters, aliases, created
            case artifactDigest = "artifact_digest", artifactSize = "artifact_size", createdBy = "created_by"
            case trainingData = "training_data"
        }
    }

    /// `…/_search`.
    struct Search: Decodable {
        let versions: [Version]
    }

    /// `…/<model>/history`: who held each alias when, and the lifecycle's events.
    struct History: Decodable {
        struct Tenure: Decodable {
            let alias: String
            let version: Int
            let until: JSONValue
            let setBy: String

            enum CodingKeys: String, CodingKey {
                case alias, version, until
                case setBy = "set_by"
            }
        }

        struct Event: Decodable {
            let event: String
            let toStatus: String?
            let note: String?

            enum CodingKeys: String, CodingKey {
                case event, note
                case toStatus = "to_status"
            }
        }

        let aliases: [Tenure]
        let events: [Event]
    }

    /// `…/_report`: the model performance view.
    struct Report: Decodable {
        struct Row: Decodable {
            let version: Int
            let value: Double
            let status: String
            let champion: Bool
        }
        let rows: [Row]
    }

    /// `…/_gc`.
    struct Collected: Decodable {
        let removedFiles: Int

        enum CodingKeys: String, CodingKey { case removedFiles = "removed_files" }
    }
}
