public import CofferAccess
public import CofferEngines
public import CofferFoundation

/// Who may point a credential's rotation at another system. Rotation settings are configuration that acts
/// elsewhere: `db_name` makes the next `make rotate` log in with that connection's admin password, and
/// `connection_url` or `rotation_statements` decide where and what it runs. Writing a credential's KV
/// metadata is not enough for that; each setting needs its own decision, for the same caller, by the same
/// policies (a grant is for its own path only):
///
/// | setting | the caller needs |
/// |---|---|
/// | `db_name: X` | `update` on `database/config/X`; every role in `usernames` in X's `allowed_roles` |
/// | `admin_secret: m/p` | `read` on `m/data/p` |
/// | `connection_url`, `rotation_statements` | besides, `sudo` on `database/config/X` (or on `m/data/p`) |
/// | `signing_secret: m/p` (webhook) | `read` on `m/data/p` |
///
/// Where a webhook may call and which programs a command may run is the operator's (``RotatorLimits``).
public struct RotationAuthority: RotationSettingsCheck {
    let databases: DatabaseEngine
    let limits: RotatorLimits

    public init(databases: DatabaseEngine, limits: RotatorLimits) {
        self.databases = databases
        self.limits = limits
    }

    /// Checks that a rotator of `kind` takes `settings`.
    /// - Throws: ``AccessError`` `.invalidRequest` with the rotator's reason.
    public func validate(kind: String, settings: String?) throws {
        do {
            _ = try Rotators.make(kind: kind, settings: settings, limits: limits)
        } catch let error as RotationError {
            throw AccessError(.invalidRequest, error.description)
        }
    }

    /// Checks that `grant`'s caller may give a credential `settings` (a JSON object's text; `nil` or absent
    /// settings need nothing). Records the connection or secret the settings name in the audit entry.
    /// - Throws: ``AccessError`` `.permissionDenied` saying which right is missing; `.invalidRequest` when the
    ///   named connection does not exist or does not allow a role.
    public func authorise(_ grant: Grant, settings: JSONValue?) async throws {
        guard case .object(let object)? = settings else { return }
        let overrides = object["connection_url"] != nil || object["rotation_statements"] != nil
        if case .string(let name)? = object["db_name"] {
            let config = "database/config/\(name)"
            guard grant.allows(.update, on: config) else {
                throw AccessError(.permissionDenied, "rotation settings that name the connection \(name) need update on \(config)")
            }
            if overrides, !grant.allows(.sudo, on: config) {
                throw AccessError(.permissionDenied, "connection_url and rotation_statements need sudo on \(config)")
            }
            guard let connection = try await databases.storedConnection(name) else {
                throw AccessError(.invalidRequest, "db_name \(name) is not a configured connection (\(config))")
            }
            if case .array(let users)? = object["usernames"] {
                for case .string(let user) in users where !connection.allows(role: user) {
                    throw AccessError(.invalidRequest, "the connection \(name) does not allow the role \(user) (allowed_roles)")
                }
            }
            grant.auditFact("rotation.db_name", name)
        }
        // A secret the rotation will read with the runner's rights: its writer must be able to read it too.
        for setting in ["admin_secret", "signing_secret"] {
            guard case .string(let id)? = object[setting] else { continue }
            guard let secret = try SecretPath(id: id) else {
                throw AccessError(.invalidRequest, "\(setting) must be mount/path, such as secret/db/admin")
            }
            let data = secret.requestPath("data")
            guard grant.allows(.read, on: data) else {
                throw AccessError(.permissionDenied, "rotation settings that use the secret \(id) (\(setting)) need read on \(data)")
            }
            if setting == "admin_secret", overrides, !grant.allows(.sudo, on: data) {
                throw AccessError(.permissionDenied, "connection_url and rotation_statements need sudo on \(data)")
            }
            grant.auditFact("rotation.\(setting)", id)
        }
    }
}
