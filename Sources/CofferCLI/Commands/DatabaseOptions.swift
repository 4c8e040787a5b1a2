import ArgumentParser
import CofferServer
import Foundation

/// Options shared by the commands that open the database themselves (`serve`, `migrate`).
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "sqlite:PATH, a postgres:// URL or a libpq conninfo (env COFFER_DATABASE_URL; default sqlite:./coffer-data/coffer.db).")
    var database: String?

    @Option(
        name: .long,
        help: "A PostgreSQL standby of --database that serves read-only requests (env COFFER_READ_REPLICA_URL; Docs/SCALING.md).")
    var readReplica: String?

    @Option(name: .long, help: "A JSON config file (env COFFER_CONFIG). Flags override the environment, which overrides the file.")
    var config: String?

    @Option(name: .long, help: "Log format: text or json (env COFFER_LOG_FORMAT).")
    var logFormat: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (env COFFER_LOG_LEVEL).")
    var logLevel: String?

    /// Resolves the configuration from these flags, the environment and the config file.
    func resolve(
        listen: String? = nil, clusterName: String? = nil, unsealKeyFile: String? = nil, auditWitness: String? = nil,
        auditTimeout: String? = nil, auditLogFile: String? = nil, tlsCertFile: String? = nil, tlsKeyFile: String? = nil,
        tlsClientCAFile: String? = nil, insecureListen: String? = nil
    ) throws -> ServerConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let configPath = config ?? environment["COFFER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let file = try configPath.map { try ServerConfiguration.Inputs.file(at: $0) } ?? .init()
        let flags = ServerConfiguration.Inputs(
            listen: listen, database: database, logFormat: logFormat, logLevel: logLevel,
            clusterName: clusterName, unsealKeyFile: unsealKeyFile, auditWitness: auditWitness,
            auditTimeout: auditTimeout, auditLogFile: auditLogFile, tlsCertFile: tlsCertFile,
            tlsKeyFile: tlsKeyFile, tlsClientCAFile: tlsClientCAFile, insecureListen: insecureListen, readReplica: readReplica)
        return try ServerConfiguration(flags: flags, environment: .environment(environment), file: file)
    }
}
