import ArgumentParser
import Foundation

/// `coffer health …`: checks as code, their state, maintenance windows (Docs/SUITE.md, "System health").
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Apply health checks from a file; show every check's state and availability; schedule maintenance.",
        subcommands: [ApplyDefinitions<HealthChecks>.self, Status.self, Results.self, Maintenance.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Overall, per component and per check, with uptime over 24 h, 7 d and 30 d.")
        @OptionGroup var connection: Operator.Connection
        @Flag(name: .long, help: "Print the JSON answer.") var json = false

        func run() async throws {
            let reply = try await connection.client().send("GET", "coffer/health")
            let data = (try Operator.json(reply)["data"] as? [String: Any]) ?? [:]
            if json {
                print(String(decoding: reply.body, as: UTF8.self))
                return
            }
            print("overall: \(data["status"] ?? "?")")
            for (component, status) in ((data["components"] as? [String: String]) ?? [:]).sorted(by: { $0.key < $1.key }) {
                print("  \(component): \(status)")
            }
            func percent(_ value: Any?) -> String { (value as? Double).map { String(format: "%.3f%%", $0) } ?? "-" }
            RotateCommand.printColumns(
                ["check", "component", "status", "flapping", "latency", "24h", "7d", "30d", "details"],
                ((data["checks"] as? [[String: Any]]) ?? []).map { check in
                    [
                        "\(check["name"] ?? "")", "\(check["component"] ?? "")", "\(check["status"] ?? "")",
                        (check["flapping"] as? Bool ?? false) ? "yes" : "no",
                        (check["latency_ms"] as? Double).map { String(format: "%.1f ms", $0) } ?? "-", percent(check["uptime_24h"]),
                        percent(check["uptime_7d"]),
                        percent(check["uptime_30d"]), String("\(check["details"] ?? "")".prefix(50))
                    ]
                })
        }
    }

    struct Results: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A check's latest results.")
        @OptionGroup var connection: Operator.Connection
        @Argument var name: String
        @Option(name: .long) var limit = 20

        func run() async throws {
            let reply = try await connection.client().send(
                "GET", "coffer/health/checks/\(ModelCommand.segment(name))/results",
                query: [URLQueryItem(name: "limit", value: String(limit))])
            let results = ((try Operator.json(reply)["data"] as? [String: Any])?["results"] as? [[String: Any]]) ?? []
            RotateCommand.printColumns(
                ["time", "result", "status", "latency", "details"],
                results.map {
                    [
                        "\($0["time"] ?? "")", "\($0["result"] ?? "")", "\($0["status"] ?? "")",
                        String(format: "%.1f ms", $0["latency_ms"] as? Double ?? 0), "\($0["details"] ?? "")"
                    ]
                })
        }
    }

    struct Maintenance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A maintenance window for a component (* for all): not counted as downtime.")
        @OptionGroup var connection: Operator.Connection
        @Argument var component: String
        @Option(name: .long, help: "Start (RFC 3339 or Unix seconds; default now).") var from: String?
        @Option(name: .long, help: "End.") var until: String
        @Option(name: .long) var reason: String?

        func run() async throws {
            var body: [String: Any] = ["component": component, "to": until]
            body["from"] = from
            body["reason"] = reason
            _ = try Operator.json(try await connection.client().sendJSON("POST", "coffer/health/maintenance", body), expect: 204)
            print("Maintenance scheduled for \(component) until \(until)")
        }
    }
}
