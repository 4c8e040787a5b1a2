public import CofferStore
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
    public let logger: Logger
    let migrationCount: Int

    /// Opens the database, applies pending migrations and reads (or creates) the instance identity.
    /// - Throws: ``StoreError`` when the database cannot be opened or migrated; nothing is changed then.
    public static func prepare(configuration: ServerConfiguration, logger: Logger) async throws -> CofferServer {
        let database = try await configuration.database.open(logger: logger)
        do {
            let migrations = try MigrationSet.embedded(for: database.dialect)
            try await Migrator(database: database, migrations: migrations, logger: logger).migrate()
            let identity = try await InstanceIdentity.ensure(in: database, clusterName: configuration.clusterName)
            return CofferServer(configuration: configuration, database: database, identity: identity, logger: logger,
                                migrationCount: migrations.migrations.count)
        } catch {
            await database.close()
            throw error
        }
    }

    /// The router with every route and middleware, shared by `run()` and tests.
    public func makeRouter() -> Router<CofferRequestContext> {
        let router = Router(context: CofferRequestContext.self)
        router.add(middleware: NoStoreMiddleware())
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: VaultErrorMiddleware())
        let health = HealthCheck(database: database, identity: identity, knownMigrations: migrationCount) {
            // No key hierarchy exists yet, so there is nothing to initialise or unseal: report exactly that,
            // as an uninitialised Vault does (501).
            SealState(initialized: false, sealed: true)
        }
        SysRoutes(health: health).register(on: router)
        return router
    }

    /// The Hummingbird application, with the database closed as the last step of a graceful shutdown.
    public func makeApplication(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "coffer"),
            services: [DatabaseService(database: database)],
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    /// Serves until SIGINT or SIGTERM, finishing in-flight requests before it returns.
    public func run() async throws {
        try await makeApplication { channel in
            logger.info("coffer is serving", metadata: ["coffer.listen": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        }.runService()
    }
}

/// Closes the database when the service group shuts down; it is listed before the HTTP server, so it
/// stops after it, once no request can use the database any more.
struct DatabaseService: Service {
    let database: any Database

    func run() async throws {
        try? await gracefulShutdown()
        await database.close()
    }
}
