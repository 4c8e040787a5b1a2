import ArgumentParser
import Foundation

/// `coffer report health|models`: the seed's monitoring dashboard, from its SQL views.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The system health overview and model performance (the dashboard's queries).",
        subcommands: [Health.self, Models.self]
    )

    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per component: checks, critical, warning, maintenance, flapping, open error issues.")
        @OptionGroup var connection: Operator.Connection

        func run() async throws {
            let rows =
                ((try Operator.json(try await connection.client().send("GET", "coffer/health/report"))["data"] as? [String: Any])?[
                    "components"] as? [[String: Any]]) ?? []
            guard !rows.isEmpty else {
                print("No health checks (coffer health apply FILE).")
                return
            }
            RotateCommand.printColumns(
                ["component", "checks", "critical", "warning", "maintenance", "flapping", "never run", "open issues", "last checked"],
                rows.map { row in
                    ["component", "checks", "critical", "warning", "maintenance", "flapping", "never_run", "open_issues"].map {
                        "\(row[$0] ?? "")"
                    }
                        + [(row["last_checked"] as? String) ?? "-"]
                })
        }
    }

    struct Models: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every model version's metrics, best first, with status and champion.")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long) var model: String?
        @Option(name: .long, help: "One metric, e.g. validation.f1.") var metric: String?

        func run() async throws {
            var query: [URLQueryItem] = []
            if let model { query.append(URLQueryItem(name: "model", value: model)) }
            if let metric { query.append(URLQueryItem(name: "metric", value: metric)) }
            let rows =
                ((try Operator.json(try await connection.client().send("GET", "coffer/models/_report", query: query))["data"]
                    as? [String: Any])?["rows"] as? [[String: Any]]) ?? []
            guard !rows.isEmpty else {
                print("No model metrics.")
                return
            }
            RotateCommand.printColumns(
                ["model", "version", "label", "status", "metric", "value", "champion"],
                rows.map { row in
                    [
                        "\(row["name"] ?? "")", "\(row["version"] ?? "")", "\(row["version_label"] ?? "")", "\(row["status"] ?? "")",
                        "\(row["metric"] ?? "")",
                        "\(row["value"] ?? "")", (row["champion"] as? Bool ?? false) ? "yes" : ""
                    ]
                })
        }
    }
}
