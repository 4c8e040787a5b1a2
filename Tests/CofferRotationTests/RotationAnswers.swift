import CofferServerTesting
import HTTPTypes
import HummingbirdTesting
import Testing

/// Rotation's and the database engine's answers as a client reads them (the wire's field names), so the
/// rotation tests check typed values rather than walking `[String: Any]`.
enum Rotation {
    /// One credential's outcome in a run (`coffer/rotation/run`, `coffer/rotation/rotate/<secret>`).
    struct Outcome: Decodable {
        let path: String
        let result: String
        let oldVersion: Int
        let newVersion: Int?
        let step: String
        let error: String?

        enum CodingKeys: String, CodingKey {
            case path, result, step, error
            case oldVersion = "old_version", newVersion = "new_version"
        }
    }

    /// A run's answer.
    struct Results: Decodable {
        let results: [Outcome]
    }

    /// One credential in `coffer/rotation/status`.
    struct Credential: Decodable {
        let path: String
        let failures: Int
        let lastError: String
        let retryTime: String

        enum CodingKeys: String, CodingKey {
            case path, failures
            case lastError = "last_error", retryTime = "retry_time"
        }
    }

    /// `coffer/rotation/status`.
    struct Status: Decodable {
        let credentials: [Credential]
    }
}

/// The database engine's answers (Vault's field names).
enum DatabaseAnswer {
    /// `database/creds/<role>` and `database/static-creds/<role>`.
    struct Credentials: Decodable {
        let username: String
        let password: String
        let rotationPeriod: Int?

        enum CodingKeys: String, CodingKey {
            case username, password
            case rotationPeriod = "rotation_period"
        }
    }

    /// `database/static-roles/<role>`.
    struct StaticRole: Decodable {
        let username: String
        let dbName: String
        let lastVaultRotation: String

        enum CodingKeys: String, CodingKey {
            case username
            case dbName = "db_name", lastVaultRotation = "last_vault_rotation"
        }
    }

    /// `sys/leases/lookup`.
    struct Lease: Decodable {
        let ttl: Int
    }
}

extension TestClientProtocol {
    /// A run (`uri` is `coffer/rotation/run` or `…/rotate/<secret>`) as `token`: its outcomes.
    func rotate(_ token: String, _ uri: String, _ body: [String: Any]? = nil) async throws -> [Rotation.Outcome] {
        let (status, answered) = try await answer(Rotation.Results.self, uri, token: token, body)
        #expect(status == .ok, "\(uri): \(answered.errors ?? [])")
        return answered.data?.results ?? []
    }
}
