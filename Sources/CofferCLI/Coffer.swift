import ArgumentParser

/// `coffer`: the service (`serve`), its schema (`migrate`), and HTTP client commands (`status`).
@main
struct Coffer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coffer",
        abstract: "A credential vault with a Vault-compatible HTTP API.",
        subcommands: [
            Serve.self, Migrate.self, Status.self, Operator.self, TokenCommand.self, PolicyCommand.self, AuditCommand.self, KVCommand.self,
            RotateCommand.self, ModelCommand.self, FeaturesCommand.self, CacheCommand.self, ErrorsCommand.self, MetricsCommand.self,
            HealthCommand.self, AlertsCommand.self, ReportCommand.self
        ]
    )
}
