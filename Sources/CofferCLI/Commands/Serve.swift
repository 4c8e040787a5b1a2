import ArgumentParser
import CofferKeys
import CofferServer
import CofferStore
import CofferSystem
import Foundation
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

    @Option(
        name: .long,
        help: "Unseal at start with the base64 key in this file (env COFFER_UNSEAL_KEY_FILE). For automation; weaker than shares.")
    var unsealKeyFile: String?

    @Option(
        name: .long,
        help:
            """
            Also write signed audit checkpoints to this append-only file, - for stdout or log for the service log (env \
            COFFER_AUDIT_WITNESS; default audit-witness.jsonl beside the data). Put it outside the database's folder: coffer \
            audit verify reads it.
            """
    )
    var auditWitness: String?

    @Option(
        name: .long,
        help:
            """
            Milliseconds a request waits for its audit entry to be committed before failing with 503 (env COFFER_AUDIT_TIMEOUT; \
            default 2000).
            """
    )
    var auditTimeout: String?

    @Option(
        name: .long, help: "Also copy every committed audit entry as a JSON line to this file, or - for stdout (env COFFER_AUDIT_LOG_FILE)."
    )
    var auditLogFile: String?

    @Option(name: .long, help: "PEM certificate chain for TLS (env COFFER_TLS_CERT_FILE). Reloaded on SIGHUP.")
    var tlsCertFile: String?

    @Option(name: .long, help: "PEM private key for TLS (env COFFER_TLS_KEY_FILE). Reloaded on SIGHUP.")
    var tlsKeyFile: String?

    @Option(name: .long, help: "PEM CA bundle: require client certificates it signed, mutual TLS (env COFFER_TLS_CLIENT_CA_FILE).")
    var tlsClientCAFile: String?

    @Flag(name: .long, help: "Allow plain HTTP on an address other than loopback (a proxy in front terminates TLS).")
    var insecureListen = false

    @Flag(name: .long, help: "Development only: initialise an empty SQLite database with a key file in its data folder, and unseal.")
    var dev = false

    func run() async throws {
        var configuration = try options.resolve(
            listen: listen, clusterName: clusterName, unsealKeyFile: unsealKeyFile,
            auditWitness: auditWitness, auditTimeout: auditTimeout,
            auditLogFile: auditLogFile, tlsCertFile: tlsCertFile, tlsKeyFile: tlsKeyFile,
            tlsClientCAFile: tlsClientCAFile, insecureListen: insecureListen ? "true" : nil)
        let logger = LoggingSetup.bootstrap(configuration)
        for (key, value) in configuration.summary {
            logger.info("configuration", metadata: ["coffer.config.key": "\(key)", "coffer.config.value": "\(value)"])
        }
        if !configuration.usesTLS && !configuration.listensOnLoopback {
            logger.warning(
                """
                plain HTTP on \(configuration.host) (--insecure-listen): secrets cross the network in the clear unless a proxy in \
                front terminates TLS
                """
            )
        }
        var server = try await CofferServer.prepare(configuration: configuration, logger: logger)
        if dev {
            guard case .sqlite(path: let path) = configuration.database else {
                throw ValidationError("--dev needs a sqlite: database; it keeps the development key beside it")
            }
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            let files = try await server.developmentInitialize(folder: folder)
            for line in [
                "DEVELOPMENT MODE: the unseal key is in \(files.keyFile) and the root token in \(files.tokenFile),",
                "next to the data they protect. Never use --dev (or make run) for real secrets."
            ] { logger.warning("\(line)") }
            configuration.unsealKeyFile = files.keyFile
            server = server.with(configuration: configuration)
        }
        try await server.unsealFromKeyFile()
        let status = await server.keys.status
        logger.info("seal status", metadata: ["coffer.sealed": "\(status.sealed)", "coffer.initialized": "\(status.initialized)"])
        logger.info(
            "database ready",
            metadata: [
                "coffer.database": "\(configuration.database)",
                "coffer.cluster.id": "\(server.identity.clusterID)",
                "coffer.cluster.name": "\(server.identity.clusterName)"
            ])
        try await server.run()
        logger.info("coffer stopped")
    }
}
