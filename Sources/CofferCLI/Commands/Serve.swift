import ArgumentParser
import CofferServer
import Logging

/// `coffer serve`: the HTTP service.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Coffer service (migrations are applied at start-up).",
        discussion: "Stops gracefully on SIGINT or SIGTERM, finishing requests in flight."
    )

    @OptionGroup var options: DatabaseOptions

    @Option(name: .long, help: "HOST:PORT to listen on (env COFFER_LISTEN; default 127.0.0.1:8200).")
    var listen: String?

    @Option(name: .long, help: "Cluster name reported by sys/health, set when the database is first used (env COFFER_CLUSTER_NAME).")
    var clusterName: String?

    func run() async throws {
        let configuration = try options.resolve(listen: listen, clusterName: clusterName)
        let logger = LoggingSetup.bootstrap(configuration)
        for (key, value) in configuration.summary {
            logger.info("configuration", metadata: ["coffer.config.key": "\(key)", "coffer.config.value": "\(value)"])
        }
        let server = try await CofferServer.prepare(configuration: configuration, logger: logger)
        logger.info("database ready", metadata: [
            "coffer.database": "\(configuration.database)",
            "coffer.cluster.id": "\(server.identity.clusterID)",
            "coffer.cluster.name": "\(server.identity.clusterName)",
        ])
        try await server.run()
        logger.info("coffer stopped")
    }
}
