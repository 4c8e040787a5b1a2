import CofferCrypto
import CofferEngines
public import CofferFoundation
import CofferStore
import Foundation

/// `postgres-password`: a new password for one PostgreSQL role. `set` runs `ALTER ROLE … PASSWORD` over an
/// admin connection whose credentials are another Coffer secret (`admin_secret`: `connection_url`,
/// `username`, `password`); `test` logs in as the role with the new password.
///
/// Settings: `admin_secret` (`mount/path`) or `db_name` (a database engine connection, as static roles use),
/// `connection_url` (default: the admin secret's),
/// `username_field` (`username`), `password_field` (`password`), `length` (16–128, default 32),
/// `rotation_statements` (instead of `ALTER ROLE`, with `{{name}}` and `{{password}}`, as Vault's static roles
/// take them; the password is filled in as its SCRAM verifier).
public struct PostgresPasswordRotator: Rotator {
    public static let kind = "postgres-password"
    let settings: PostgresRoleSettings

    public init(settings: JSONValue, limits: RotatorLimits) throws {
        self.settings = try PostgresRoleSettings(settings, kind: Self.kind, extra: [])
    }

    public func create(from current: JSONValue) throws -> JSONValue {
        guard case .object(var object) = current, case .string(let user)? = object[settings.usernameField], !user.isEmpty else {
            throw RotationError.stepFailed(
                step: .create, reason: "the credential has no \(settings.usernameField): write the role's name there first")
        }
        object[settings.passwordField] = .string(settings.newPassword())
        return .object(object)
    }

    public func set(pending: JSONValue, current: JSONValue, context: RotationContext) async throws {
        try await settings.apply(pending, context: context)
    }

    public func test(pending: JSONValue, context: RotationContext) async throws {
        try await settings.login(pending, context: context)
    }
}

/// `postgres-alternating`: AWS's alternating-users strategy. Two roles take turns: each rotation gives the
/// role that is *not* current a new password and makes it current, so the old role's password keeps
/// working until clients have moved (and is changed only by the rotation after next).
///
/// Settings: as `postgres-password`, plus `usernames` (exactly two role names).
public struct PostgresAlternatingRotator: Rotator {
    public static let kind = "postgres-alternating"
    let settings: PostgresRoleSettings
    let usernames: [String]

    public init(settings: JSONValue, limits: RotatorLimits) throws {
        self.settings = try PostgresRoleSettings(settings, kind: Self.kind, extra: ["usernames"])
        guard case .object(let object) = settings, case .array(let items)? = object["usernames"] else {
            throw RotationError.invalidSettings("usernames must list the two roles that take turns, such as [\"app_a\", \"app_b\"]")
        }
        let names = items.compactMap { item -> String? in if case .string(let name) = item, !name.isEmpty { name } else { nil } }
        guard names.count == 2, items.count == 2, names[0] != names[1] else {
            throw RotationError.invalidSettings("usernames must list exactly two different role names")
        }
        usernames = names
    }

    public func create(from current: JSONValue) throws -> JSONValue {
        guard case .object(var object) = current else {
            throw RotationError.stepFailed(step: .create, reason: "the current data is not a JSON object")
        }
        let currentUser: String? = if case .string(let name)? = object[settings.usernameField] { name } else { nil }
        object[settings.usernameField] = .string(currentUser == usernames[0] ? usernames[1] : usernames[0])
        object[settings.passwordField] = .string(settings.newPassword())
        return .object(object)
    }

    public func set(pending: JSONValue, current: JSONValue, context: RotationContext) async throws {
        try await settings.apply(pending, context: context)
    }

    public func test(pending: JSONValue, context: RotationContext) async throws {
        try await settings.login(pending, context: context)
    }
}

/// The settings and role operations the PostgreSQL rotators share.
struct PostgresRoleSettings: Sendable {
    /// Whether the settings go beyond naming the admin connection: another URL, or statements of their own.
    var overridesConnection: Bool { connectionURL != nil || !statements.isEmpty }

    /// Where the admin connection comes from: a secret, or a database engine connection.
    enum Admin: Sendable { case secret(String), connection(String) }
    let admin: Admin
    let connectionURL: String?
    /// The name the connection's `allowed_roles` is checked against: a static role's name, else the username.
    let role: String?
    let statements: [String]
    let usernameField: String
    let passwordField: String
    let length: Int

    init(_ settings: JSONValue, kind: String, extra: Set<String>) throws {
        guard case .object(let object) = settings else { throw RotationError.invalidSettings("rotation_settings must be a JSON object") }
        let known = Set([
            "admin_secret", "db_name", "connection_url", "username_field", "password_field", "length", "rotation_statements", "role"
        ]).union(extra)
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw RotationError.invalidSettings(
                "the \(kind) rotator has no setting \"\(unknown)\"; it takes \(known.sorted().joined(separator: ", "))")
        }
        switch (object["admin_secret"], object["db_name"]) {
        case (.string(let secret)?, nil) where secret.contains("/"): admin = .secret(secret)
        case (nil, .string(let name)?) where !name.isEmpty: admin = .connection(name)
        default:
            throw RotationError.invalidSettings(
                """
                admin_secret is required: the mount/path of the secret holding the admin connection (connection_url, username, \
                password); or db_name, a database engine connection
                """
            )
        }
        func text(_ key: String, default fallback: String?) throws -> String? {
            switch object[key] {
            case nil: return fallback
            case .string(let value)? where !value.isEmpty: return value
            default: throw RotationError.invalidSettings("\(key) must be a non-empty string")
            }
        }
        connectionURL = try text("connection_url", default: nil)
        role = try text("role", default: nil)
        switch object["rotation_statements"] {
        case nil: statements = []
        case .array(let items)?:
            statements = try items.map { item in
                guard case .string(let statement) = item, !statement.isEmpty else {
                    throw RotationError.invalidSettings("rotation_statements must be a list of statements")
                }
                var rest = Substring(statement)
                while let open = rest.range(of: "{{") {
                    guard let close = rest[open.upperBound...].range(of: "}}"),
                        ["name", "username", "password"].contains(
                            rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
                    else {
                        throw RotationError.invalidSettings("rotation_statements know only {{name}} and {{password}}")
                    }
                    rest = rest[close.upperBound...]
                }
                return statement
            }
        default: throw RotationError.invalidSettings("rotation_statements must be a list of statements")
        }
        usernameField = try text("username_field", default: "username") ?? "username"
        passwordField = try text("password_field", default: "password") ?? "password"
        switch object["length"] {
        case nil: length = 32
        case .integer(let value)? where (16...128).contains(value): length = Int(value)
        default: throw RotationError.invalidSettings("length must be an integer from 16 to 128")
        }
    }

    func newPassword() -> String {
        PasswordGenerator.alphanumeric(length: length).generate()
    }

    /// `ALTER ROLE <user> WITH PASSWORD '<SCRAM verifier>'` over the admin connection.
    func apply(_ data: JSONValue, context: RotationContext) async throws {
        let (user, password) = try credentials(data, step: .set)
        let (url, adminUser, adminPassword) = try await adminConnection(context, user: user)
        let statements = statements
        try await Self.offThread(step: .set) {
            let target = try DatabaseEngine.target(url: url, user: adminUser, password: adminPassword)
            let verifier = try target.passwordVerifier(password, user: user)
            guard !statements.isEmpty else {
                return try target.execute("ALTER ROLE \(try target.identifier(user)) WITH PASSWORD \(try target.literal(verifier))")
            }
            // Placeholders are filled in quoted by libpq: the role name as an identifier, the verifier as a literal.
            // A placeholder the statement already wraps in quotes ("{{name}}", '{{password}}') is replaced with
            // its quotes, so Vault-style statements work and nothing is quoted twice.
            let name = try target.identifier(user), literal = try target.literal(verifier)
            for statement in statements {
                var filled = statement
                for placeholder in ["{{name}}", "{{username}}"] {
                    filled = filled.replacingOccurrences(of: "\"\(placeholder)\"", with: name).replacingOccurrences(
                        of: placeholder, with: name)
                }
                filled = filled.replacingOccurrences(of: "'{{password}}'", with: literal).replacingOccurrences(
                    of: "{{password}}", with: literal)
                try target.execute(filled)
            }
        }
    }

    /// Logs in as the credential's role with its password.
    func login(_ data: JSONValue, context: RotationContext) async throws {
        let (user, password) = try credentials(data, step: .test)
        let url = try await adminConnection(context, user: user).url
        try await Self.offThread(step: .test) {
            let target = try PostgresTarget(url: url, user: user, password: password)
            try target.execute("SELECT 1")
        }
    }

    private func credentials(_ data: JSONValue, step: RotationStep) throws -> (String, String) {
        guard let user = Self.field(data, usernameField), let password = Self.field(data, passwordField) else {
            throw RotationError.stepFailed(step: step, reason: "the credential needs \(usernameField) and \(passwordField)")
        }
        return (user, password)
    }

    /// The admin connection's URL, user and password (in guarded memory: a database engine connection's is opened
    /// there; an admin secret's is copied there from the secret's data at once).
    private func adminConnection(_ context: RotationContext, user: String) async throws -> (
        url: String, user: String?, password: SecureHandle?
    ) {
        switch admin {
        case .connection(let name):
            let found = try await context.connection(name)
            // Checked at every run, not only when the settings were written: the connection's allowed_roles
            // may have narrowed since.
            guard found.connection.allows(role: role ?? user) else {
                throw RotationError.stepFailed(
                    step: .set, reason: "the connection \(name) does not allow the role \(role ?? user) (allowed_roles)")
            }
            return (connectionURL ?? found.connection.connectionURL, found.connection.username, found.password)
        case .secret(let secret):
            let value = try await context.secret(secret)
            guard let url = connectionURL ?? Self.field(value, "connection_url") else {
                throw RotationError.invalidSettings("no connection_url: put one in the admin secret \(secret) or in rotation_settings")
            }
            return (
                url, Self.field(value, "username"), Self.field(value, "password").map { SecureHandle(SecureBytes(copying: Array($0.utf8))) }
            )
        }
    }

    static func field(_ data: JSONValue, _ key: String) -> String? {
        guard case .object(let object) = data, case .string(let value)? = object[key] else { return nil }
        return value
    }

    /// Runs libpq work off Swift's pool; a database error fails `step` (a refused login fails the test step,
    /// not the set step).
    static func offThread(step: RotationStep, _ body: @escaping @Sendable () throws -> Void) async throws {
        do {
            try await Blocking.run(body)
        } catch let error as StoreError {
            throw RotationError.stepFailed(step: step, reason: error.message)
        }
    }
}
