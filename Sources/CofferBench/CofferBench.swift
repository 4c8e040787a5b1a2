import ArgumentParser

/// `coffer-bench`: benchmarks that print their figures. Run through `make bench-*` (release build).
@main
struct CofferBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coffer-bench",
        abstract: "Coffer's benchmarks.",
        subcommands: [StoreBench.self, CryptoBench.self, GateBench.self, KVBench.self, RotateBench.self, SuiteBench.self, Suite2Bench.self]
    )
}
