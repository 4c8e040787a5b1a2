public import CofferEngines
import CofferCrypto
public import CofferFoundation

/// One way of rotating a credential: the four steps of a staged rotation, as AWS Secrets Manager's
/// rotation functions have them. The engine records each step before and after it acts and may repeat a
/// step after a crash, so ``set(pending:current:)`` and ``test(pending:)`` must be idempotent.
///
/// Adding a rotator (a cloud provider's API key): write a type that conforms, and add it to
/// ``Rotators/kinds``. The engine, the schedule, the locks and the API do not change (Docs/ROTATION.md).
public protocol Rotator: Sendable {
    /// The name in a secret's `rotation_kind`.
    static var kind: String { get }
    /// Reads and checks the settings (`rotation_settings`, a JSON object, never secret) against what the
    /// operator allows (`limits`).
    /// - Throws: ``RotationError`` `.invalidSettings` naming the field that is wrong.
    init(settings: JSONValue, limits: RotatorLimits) throws
    /// create: the new data, from the current data. Touches nothing outside the store.
    func create(from current: JSONValue) throws -> JSONValue
    /// set: makes the target system accept `pending` (a password change). Idempotent.
    func set(pending: JSONValue, current: JSONValue, context: RotationContext) async throws
    /// test: proves `pending` works on the target (logs in with it).
    func test(pending: JSONValue, context: RotationContext) async throws
}

/// What a rotator may use besides its settings.
public struct RotationContext: Sendable {
    /// Reads the current data of another credential, `mount/path` (an admin connection's password), if the
    /// run's token may read it.
    public let secret: @Sendable (String) async throws -> JSONValue
    /// A connection of the database engine (`database/config/:name`): its URL, admin user and password, and
    /// the roles it may be used for (`allowed_roles`, `*` for any).
    public let connection: @Sendable (String) async throws -> AdminConnection

    public init(
        secret: @escaping @Sendable (String) async throws -> JSONValue,
        connection: @escaping @Sendable (String) async throws -> AdminConnection
    ) {
        self.secret = secret
        self.connection = connection
    }
}

/// What the operator lets rotators reach, from the service's configuration: settings are written by callers
/// with `update` on a credential's metadata, so where a rotation may send a value or what it may run is
/// decided here, not by them (as for health checks' commands and audit devices' sockets).
public struct RotatorLimits: Sendable {
    /// `host:port` pairs a `webhook` rotator may call (`rotation_webhook_hosts`); empty: webhooks refused.
    public var webhookHosts: Set<String>
    /// A PEM bundle webhook targets' certificates are checked against instead of the system's
    /// (`rotation_webhook_ca_file`).
    public var webhookCAFile: String?
    /// The folder whose programs a `command` rotator may run (`rotation_command_dir`); nil: commands refused.
    public var commandDirectory: String?

    public init(webhookHosts: Set<String> = [], webhookCAFile: String? = nil, commandDirectory: String? = nil) {
        self.webhookHosts = webhookHosts
        self.webhookCAFile = webhookCAFile
        self.commandDirectory = commandDirectory
    }
}

/// The rotators Coffer knows, by kind.
public enum Rotators {
    public static let kinds: [String: any Rotator.Type] = [
        RandomRotator.kind: RandomRotator.self,
        PostgresPasswordRotator.kind: PostgresPasswordRotator.self,
        PostgresAlternatingRotator.kind: PostgresAlternatingRotator.self,
        WebhookRotator.kind: WebhookRotator.self,
        CommandRotator.kind: CommandRotator.self
    ]

    /// The rotator for `kind` with `settings` (a JSON object's text; `nil` for the defaults).
    /// - Throws: ``RotationError`` `.invalidSettings` for an unknown kind or bad settings.
    public static func make(kind: String, settings: String?, limits: RotatorLimits) throws -> any Rotator {
        guard let type = kinds[kind] else {
            throw RotationError.invalidSettings(
                "unknown rotation_kind \"\(kind)\"; known kinds: \(kinds.keys.sorted().joined(separator: ", "))")
        }
        let parsed: JSONValue
        if let settings {
            guard let value = JSONValue.parse(Array(settings.utf8)), case .object = value else {
                throw RotationError.invalidSettings("rotation_settings must be a JSON object")
            }
            parsed = value
        } else {
            parsed = .object([:])
        }
        return try type.init(settings: parsed, limits: limits)
    }
}
