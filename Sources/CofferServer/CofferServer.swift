public import CofferAccess
public import CofferCache
public import CofferConsole
import CofferCrypto
public import CofferEngines
public import CofferErrorLog
public import CofferFeatures
import CofferFoundation
public import CofferHTTP
public import CofferHealth
public import CofferKeys
public import CofferMetrics
public import CofferModels
public import CofferRotation
public import CofferStore
public import CofferSystem
import Foundation
public import Hummingbird
public import Logging
public import NIOCore
import ServiceLifecycle

/// The Coffer service: the HTTP application over one open database.
///
/// ```swift
/// let server = try await CofferServer.prepare(configuration: configuration, logger: logger)
/// try await server.run()   // until SIGINT/SIGTERM; in-flight requests finish, then the database closes
/// ```
public struct CofferServer: Sendable {
    public let configuration: ServerConfiguration
    public let database: any Database
    public let identity: InstanceIdentity
    /// The seal state and the keys.
    public let keys: KeyHierarchy
    /// Tokens, policies and the audit trail: every route goes through it.
    public let gate: Gate
    /// The credentials store (KV version 2 engines).
    public let credentials: CredentialStore
    /// The persistence suite: model registry, feature cache, persistent cache (Docs/SUITE.md).
    public let models: ModelRegistry
    public let features: FeatureStore
    public let cache: PersistentCache
    /// Error logs (part 2); Coffer's own unhandled errors land there too, through ``errorReporter``.
    public let errors: ErrorLog
    let errorReporter: ErrorReporter
    /// System metrics (part 2); Coffer's own request counts land there too, from ``requestMetrics``.
    public let metrics: MetricStore
    let requestMetrics: RequestMetrics
    /// Health checks defined as code, run by the service (part 2).
    public let healthMonitor: HealthMonitor
    /// Alert rules over errors, metrics and health (part 2).
    public let alerts: AlertEngine
    /// The web console's signed-in sessions (this instance's memory).
    public let consoleSessions = ConsoleSessions()
    public let logger: Logger
    let migrationCount: Int

    /// Opens the database, applies pending migrations and reads (or creates) the instance identity.
    /// - Throws: ``StoreError`` when the database cannot be opened or migrated; nothing is changed then.
    public static func prepare(configuration: ServerConfiguration, logger: Logger) async throws -> CofferServer {
        let database = try await Self.openDatabase(configuration, logger: logger)
        do {
            let migrations = try MigrationSet.embedded(for: database.dialect)
            try await Migrator(database: database, migrations: migrations, logger: logger).migrate()
            let identity = try await InstanceIdentity.ensure(in: database, clusterName: configuration.clusterName)
            let keys = try await KeyHierarchy(database: database)
            // Before anything can unseal: the upgrade's unseal tags, and rewrap moves, the rows of these tables
            // only, whichever modules happen to have been made by then (the database engine is made per use).
            keys.register(Self.authenticatedTables)
            let gate = Gate(
                database: database, keys: keys, audit: configuration.auditConfiguration, storageFloor: configuration.storageFloor,
                logger: logger)
            try await gate.policies.ensureDefault()
            let blobs = try BlobStore(root: configuration.artifactPath)
            let metrics = MetricStore(database: database)
            return CofferServer(
                configuration: configuration, database: database, identity: identity, keys: keys, gate: gate,
                credentials: CredentialStore(database: database, keys: keys),
                models: ModelRegistry(database: database, blobs: blobs), features: FeatureStore(database: database),
                cache: PersistentCache(
                    database: database, settings: CacheSettings(memoryBytes: configuration.cacheMemoryBytes), logger: logger),
                errors: ErrorLog(database: database), errorReporter: ErrorReporter(),
                metrics: metrics, requestMetrics: RequestMetrics(),
                healthMonitor: HealthMonitor(database: database, commandDirectory: configuration.healthCommandDir),
                alerts: AlertEngine(database: database, metrics: metrics, logger: logger),
                logger: logger, migrationCount: migrations.migrations.count)
        } catch {
            await database.close()
            throw error
        }
    }

    /// On PostgreSQL, the consistency index of writes and the read replica's freshness
    /// (``ConsistencyIndexMiddleware``); SQLite has one copy and needs neither.
    private var consistencyMiddleware: [any MiddlewareProtocol<Request, Response, CofferRequestContext>] {
        switch database {
        case let routed as ReplicaRoutedDatabase:
            [ConsistencyIndexMiddleware(primary: routed.primary, routed: routed, answersIndex: configuration.consistencyIndex)]
        case let primary as PostgresDatabase:
            [ConsistencyIndexMiddleware(primary: primary, routed: nil, answersIndex: configuration.consistencyIndex)]
        default: []
        }
    }

    /// The database as configured: its primary, checked to accept writes, and, with `read_replica`, the standby
    /// that serves read-only requests (``ReplicaRoutedDatabase``).
    /// - Throws: ``StartupError`` when the primary is a standby; ``StoreError`` when either cannot be opened.
    static func openDatabase(_ configuration: ServerConfiguration, logger: Logger) async throws -> any Database {
        let database = try await configuration.database.open(logger: logger, postgres: configuration.postgresPool)
        guard let primary = database as? PostgresDatabase else { return database }
        do {
            if try await primary.isStandby() {
                throw StartupError(
                    "the database URL reaches a standby (pg_is_in_recovery), where Coffer cannot write: give the primary, or every "
                        + "host with target_session_attrs=read-write, as the database URL, and the standby as read_replica")
            }
            guard let replicaURL = configuration.readReplica else { return primary }
            let replica = try await PostgresDatabase(replicaURL, configuration: configuration.postgresPool, logger: logger)
            do {
                if try await !replica.isStandby() {
                    logger.warning("read_replica is not a standby (pg_is_in_recovery is false): reads there see only what it holds")
                }
            } catch {
                await replica.close()
                throw error
            }
            logger.notice("reads that may come from a standby go to the read replica", metadata: ["coffer.replica": "\(replicaURL)"])
            return ReplicaRoutedDatabase(primary: primary, replica: replica, logger: logger)
        } catch {
            await primary.close()
            throw error
        }
    }

    /// Every table holding records sealed under the keyring, for rewrap. Each module that stores encrypted
    /// columns adds its tables here.
    static let encryptedTables: [EncryptedTable] = [
        CredentialStore.encryptedTable,
        ResponseWrapping.encryptedTable,
        DatabaseEngine.encryptedTable
    ]

    /// Every table whose rows carry authentication tags. Each module that tags rows adds its tables here.
    static let authenticatedTables: [AuthenticatedTable] =
        Gate.authenticatedTables + CredentialStore.authenticatedTables + DatabaseEngine.authenticatedTables

    /// Staged rotation of credentials (`/v1/coffer/rotation/…`, `make rotate`).
    public var rotation: RotationEngine {
        RotationEngine(
            store: credentials, gate: gate,
            settings: .init(
                lockTTL: configuration.rotationLockTTL,
                previousGrace: configuration.rotationPreviousGrace, limits: configuration.rotatorLimits))
    }

    /// Vault's database secrets engine and its leases.
    public var databaseEngine: DatabaseEngine { DatabaseEngine(database: database, keys: keys) }

    /// The router with every route and middleware, shared by `run()` and tests.
    public func makeRouter() -> CanonicalPathRouter {
        makeGatedRouter().hummingbirdRouter
    }

    /// Every route, each behind the Gate or declared open; the middleware first, so it wraps them all.
    public func makeGatedRouter() -> GatedRouter {
        let router = GatedRouter(
            gate: gate,
            middleware: [
                RequestMetricsMiddleware(metrics: requestMetrics), NoStoreMiddleware(), LogRequestsMiddleware(.debug),
                VaultErrorMiddleware(reporter: errorReporter)
            ] + consistencyMiddleware)
        let keys = keys
        let health = healthCheck
        SysRoutes(health: health).register(on: router)
        SealRoutes(
            keys: keys, backend: database.backendDescription, encryptedTables: Self.encryptedTables, tokens: gate.tokens,
            identity: identity
        ).register(on: router)
        let tokenRoutes = TokenRoutes(tokens: gate.tokens, roles: gate.tokenRoles)
        tokenRoutes.register(on: router)
        AppRoleRoutes(appRole: gate.appRole, authMounts: gate.authMounts, tokens: tokenRoutes).register(on: router)
        PolicyRoutes(policies: gate.policies).register(on: router)
        let auditCheck = AuditSelfCheck(
            trail: AuditTrail(database: database), witnessFile: configuration.auditWitnessFile,
            archive: AuditArchive(directory: configuration.auditArchiveDir))
        AuditRoutes(gate: gate, check: auditCheck).register(on: router)
        AuditDeviceRoutes(devices: gate.devices).register(on: router)
        CapabilitiesRoutes(gate: gate).register(on: router)
        WrappingRoutes(wrapping: gate.wrapping, gate: gate).register(on: router)
        MountRoutes(mounts: credentials.mounts, gate: gate).register(on: router)
        RotationRoutes(engine: rotation).register(on: router)
        DatabaseRoutes(engine: databaseEngine).register(on: router)
        LeaseRoutes(engine: databaseEngine).register(on: router)
        StaticRoleRoutes(databases: databaseEngine, credentials: credentials, rotation: rotation).register(on: router)
        ModelRoutes(registry: models).register(on: router)
        FeatureRoutes(store: features).register(on: router)
        CacheRoutes(cache: cache).register(on: router)
        ErrorRoutes(log: errors).register(on: router)
        MetricRoutes(store: metrics, requests: requestMetrics).register(on: router)
        HealthRoutes(monitor: healthMonitor, ready: { await Self.readiness(health) }).register(on: router)
        AlertRoutes(engine: alerts).register(on: router)
        // Last: its paths start with a parameter (the mount), so every fixed path above is matched first.
        KVRoutes(store: credentials, rotation: RotationAuthority(databases: databaseEngine, limits: configuration.rotatorLimits)).register(
            on: router)
        ConsoleRoutes(
            gate: gate, sessions: consoleSessions, health: healthMonitor, alerts: alerts, audit: auditCheck,
            rotation: rotation, errors: errors, credentials: credentials, databases: databaseEngine,
            models: models, metrics: metrics, secureCookies: configuration.usesTLS
        ).register(on: router.router)
        return router
    }

    /// The service's own health (`sys/health`'s verdict) as ready or not, with the reason: the readiness probe
    /// and the built-in `coffer` health check.
    static func readiness(_ health: HealthCheck) async -> (Bool, String) {
        let (status, report) = await health.report(codes: .init())
        guard status == .ok else {
            let reason =
                report.sealed
                ? "sealed" : !report.initialized ? "not initialised" : report.storage.error ?? report.audit.error ?? "not ready"
            return (false, reason)
        }
        return (true, "")
    }

    /// The health report of `sys/health` for this server.
    var healthCheck: HealthCheck {
        let keys = keys, audit = gate.audit
        return HealthCheck(
            database: database, identity: identity, knownMigrations: migrationCount,
            sealState: {
                let status = await keys.status
                return SealState(initialized: status.initialized, sealed: status.sealed)
            }, auditHealth: { audit.health }, integrity: keys.integrity)
    }

    /// The Hummingbird application, with the database closed as the last step of a graceful shutdown.
    /// - Throws: ``ConfigurationError`` when the TLS files cannot be read or used.
    public func makeApplication(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) throws
        -> some ApplicationProtocol
    {
        let tls = try configuration.tlsCertFile.map { certificate in
            try ListenerTLS(
                certificateFile: certificate, keyFile: configuration.tlsKeyFile ?? "", clientCAFile: configuration.tlsClientCAFile)
        }
        var services: [any Service] = [
            DatabaseService(database: database), GateMaintenance(gate: gate, logger: logger),
            UsageFlusher(usage: credentials.usage, logger: logger),
            MetricRoller(metrics: metrics, reporter: errorReporter, logger: logger),
            LeaseReaper(engine: databaseEngine, gate: gate, logger: logger),
            SuiteMaintenance(
                gate: gate, features: features, cache: cache, errors: errors, reporter: errorReporter,
                metrics: metrics, requests: requestMetrics, logger: logger),
            HealthRunner(
                gate: gate, monitor: healthMonitor, credentials: credentials, alerts: alerts,
                alertEvaluationInterval: configuration.alertEvaluationInterval,
                ready: { [healthCheck] in await Self.readiness(healthCheck) },
                instance: "\(ProcessInfo.processInfo.hostName):\(getpid())",
                logger: logger)
        ]
        services.append(
            RetentionPruner(
                gate: gate, policy: configuration.retention, health: healthMonitor, alerts: alerts, errors: errors, rotation: rotation,
                trail: AuditTrail(database: database), archive: AuditArchive(directory: configuration.auditArchiveDir), logger: logger))
        if configuration.rotationScheduler {
            services.append(
                RotationScheduler(
                    engine: rotation, gate: gate, interval: .seconds(configuration.rotationCheckInterval), logger: logger))
        }
        if let tls { services.append(TLSReloadService(tls: tls, logger: logger)) }
        return Application(
            router: makeRouter(),
            server: .vaultHTTP1(tls: tls),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "coffer"),
            services: services,
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    /// The same server with another configuration (the database, keys and identity stay).
    public func with(configuration: ServerConfiguration) -> CofferServer {
        CofferServer(
            configuration: configuration, database: database, identity: identity, keys: keys, gate: gate, credentials: credentials,
            models: models, features: features, cache: cache, errors: errors, errorReporter: errorReporter, metrics: metrics,
            requestMetrics: requestMetrics, healthMonitor: healthMonitor, alerts: alerts, logger: logger,
            migrationCount: migrationCount)
    }

    /// Unseals from `configuration.unsealKeyFile`, when one is set.
    /// - Throws: ``StartupError`` when the file cannot be read or does not unseal.
    public func unsealFromKeyFile() async throws {
        guard let path = configuration.unsealKeyFile else { return }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StartupError(
                "cannot read the unseal key file \(path): check the path given by --unseal-key-file or COFFER_UNSEAL_KEY_FILE")
        }
        var text = Array(data)
        defer { Wipe.bytes(&text) }
        var trimmed = String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard var key = Data(base64Encoded: trimmed).map({ Array($0) }) else {
            throw StartupError("the unseal key file \(path) does not hold a base64 key")
        }
        trimmed = ""
        defer { Wipe.bytes(&key) }
        do {
            let status = try await keys.unseal(with: SecureBytes(copying: key))
            if status.sealed {
                throw StartupError("the unseal key file \(path) holds one share of several: unseal the rest with coffer operator unseal")
            }
        } catch let error as KeysError {
            throw StartupError("cannot unseal with \(path): \(error.message)")
        }
    }

    /// Development mode for `make run`: initialises an empty database with the key-file method, writing the
    /// key and the root token into `folder` (mode 0600), and unseals. Never for production: the key sits
    /// beside the data it protects.
    public func developmentInitialize(folder: String) async throws -> (keyFile: String, tokenFile: String) {
        let keyFile = "\(folder)/dev-unseal.key", tokenFile = "\(folder)/dev-root-token"
        if await !keys.status.initialized {
            let result = try await keys.initialize(method: .keyFile)
            guard let key = result.keyFileKey else { throw StartupError("development init produced no key") }
            var bytes = key.bytes.unprotectedCopy()
            defer { Wipe.bytes(&bytes) }
            try Self.writePrivate(Data(Data(bytes).base64EncodedString().utf8), to: keyFile)
            try Self.writePrivate(Data(result.rootToken.utf8), to: tokenFile)
        }
        return (keyFile, tokenFile)
    }

    /// Writes `data` to a new file readable by its owner only.
    static func writePrivate(_ data: Data, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw StartupError("cannot write \(path): check the folder's permissions") }
        try handle.write(contentsOf: data)
        try handle.close()
    }

    /// Serves until SIGINT or SIGTERM, finishing in-flight requests before it returns.
    public func run() async throws {
        let scheme = configuration.usesTLS ? "https" : "http"
        try await makeApplication { channel in
            logger.info(
                "coffer is serving",
                metadata: ["coffer.listen": "\(channel.localAddress.map { "\($0)" } ?? "?")", "coffer.scheme": "\(scheme)"])
        }.runService()
    }
}
