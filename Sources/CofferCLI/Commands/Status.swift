import ArgumentParser
import Foundation

/// `coffer status`: what `vault status` shows, read from the running service's `sys/health`.
///
/// Exit codes follow `vault status`: 0 unsealed, 2 sealed or not initialised, 1 on error.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the state of a running Coffer service.")

    @Option(name: .long, help: "Address of the service (env COFFER_ADDR; default http://127.0.0.1:8200).")
    var address: String?

    @Option(name: .long, help: "Output format: table or json.")
    var format: OutputFormat = .table

    enum OutputFormat: String, ExpressibleByArgument {
        case table, json
    }

    func run() async throws {
        let client = try CofferClient(address: address)
        // Every state answers with the body; the codes only say which state it is.
        let reply = try await client.send(
            "GET", "sys/health",
            query: [
                URLQueryItem(name: "uninitcode", value: "200"),
                URLQueryItem(name: "sealedcode", value: "200")
            ])
        guard let health = (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any],
            let sealed = health["sealed"] as? Bool, let initialized = health["initialized"] as? Bool
        else {
            throw ClientError(
                """
                the service at \(client.baseURL.absoluteString) answered \(reply.status) \(reply.errors.joined(separator: "; ")): \
                not a Coffer health report
                """
            )
        }
        switch format {
        case .json:
            print(String(decoding: reply.body, as: UTF8.self))
        case .table:
            let storage = health["storage"] as? [String: Any] ?? [:]
            let rows: [(String, String)] = [
                ("Initialized", "\(initialized)"),
                ("Sealed", "\(sealed)"),
                ("Version", "\(health["version"] ?? "?")"),
                ("Cluster Name", "\(health["cluster_name"] ?? "?")"),
                ("Cluster ID", "\(health["cluster_id"] ?? "?")"),
                ("Storage Type", "\(storage["backend"] ?? "?")"),
                ("Storage Reachable", (storage["reachable"] as? Bool).map { "\($0)" } ?? "?"),
                ("Schema", "\(storage["schema_version"] ?? "?") of \(storage["migrations_known"] ?? "?") migrations")
            ]
            let width = rows.map(\.0.count).max() ?? 0
            print("Key".padding(toLength: width + 3, withPad: " ", startingAt: 0) + "Value")
            print("---".padding(toLength: width + 3, withPad: " ", startingAt: 0) + "-----")
            for (key, value) in rows { print(key.padding(toLength: width + 3, withPad: " ", startingAt: 0) + value) }
        }
        if let error = (health["storage"] as? [String: Any])?["error"] as? String {
            print("Storage error: \(error)")
            throw ExitCode.failure
        }
        if sealed || !initialized { throw ExitCode(2) }
    }
}
