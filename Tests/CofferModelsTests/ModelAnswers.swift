import CofferFoundation

/// The model registry's answers as a client reads them (the wire's field names).
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
