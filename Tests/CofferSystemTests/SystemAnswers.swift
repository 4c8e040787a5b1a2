import CofferServerTesting
import HTTPTypes
import HummingbirdTesting
import Testing

/// Vault's operator answers, which are not in the envelope (Vault's field names).
extension Sys {
    /// `GET sys/init`.
    struct Initialized: Decodable { let initialized: Bool }

    /// `sys/key-status`.
    struct KeyStatus: Decodable { let term: Int }

    /// `sys/rekey/init`, `…/update` and `…/verify`: progress while keys are asked for, then the new keys.
    struct Rekey: Decodable {
        let nonce: String
        let started: Bool?
        let required: Int?
        let progress: Int?
        let complete: Bool?
        let verificationRequired: Bool?
        let keysBase64: [String]?

        enum CodingKeys: String, CodingKey {
            case nonce, started, required, progress, complete
            case verificationRequired = "verification_required", keysBase64 = "keys_base64"
        }
    }

    /// `sys/generate-root/attempt` and `…/update`.
    struct GenerateRoot: Decodable {
        let started: Bool
        let nonce: String
        let progress: Int
        let required: Int
        let complete: Bool
        let encodedToken: String
        let encodedRootToken: String
        let otp: String?
        let otpLength: Int

        enum CodingKeys: String, CodingKey {
            case started, nonce, progress, required, complete, otp
            case encodedToken = "encoded_token", encodedRootToken = "encoded_root_token", otpLength = "otp_length"
        }
    }

    /// `sys/health`, with Coffer's `storage` report.
    struct Health: Decodable {
        struct Storage: Decodable {
            let backend: String
            let migrationsCurrent: Bool
            let reachable: Bool
            let error: String?

            enum CodingKeys: String, CodingKey {
                case backend, reachable, error
                case migrationsCurrent = "migrations_current"
            }
        }

        let initialized: Bool
        let sealed: Bool
        let standby: Bool
        let clusterName: String
        let clusterID: String
        let replicationDRMode: String
        let serverTimeUTC: Int
        let storage: Storage

        enum CodingKeys: String, CodingKey {
            case initialized, sealed, standby, storage
            case clusterName = "cluster_name", clusterID = "cluster_id", replicationDRMode = "replication_dr_mode"
            case serverTimeUTC = "server_time_utc"
        }
    }

    /// An error answer: Vault's `errors` alone.
    struct Refusal: Decodable { let errors: [String] }
}
