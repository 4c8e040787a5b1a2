import ArgumentParser
import Foundation

/// `coffer alerts …`: alert rules as code, what fires, the history, silences (Docs/SUITE.md, "Alerts").
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Apply alert rules from a file; list what fires; the history; silence a rule.",
        subcommands: [ApplyDefinitions<AlertRules>.self, List.self, History.self, Silence.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Alerts firing now.")
        @OptionGroup var connection: Operator.Connection

        func run() async throws {
            let firing =
                ((try Operator.json(try await connection.client().send("GET", "coffer/health/alerts"))["data"] as? [String: Any])?["firing"]
                    as? [[String: Any]]) ?? []
            guard !firing.isEmpty else {
                print("Nothing is firing.")
                return
            }
            RotateCommand.printColumns(
                ["rule", "group", "since"], firing.map { ["\($0["rule"] ?? "")", "\($0["group"] ?? "")", "\($0["since"] ?? "")"] })
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every firing, repeat and resolution, newest first, with what the sinks were told.")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long) var limit = 50

        func run() async throws {
            let reply = try await connection.client().send(
                "GET", "coffer/health/alerts/history", query: [URLQueryItem(name: "limit", value: String(limit))])
            let history = ((try Operator.json(reply)["data"] as? [String: Any])?["history"] as? [[String: Any]]) ?? []
            RotateCommand.printColumns(
                ["time", "rule", "group", "state", "summary", "delivery"],
                history.map {
                    [
                        "\($0["time"] ?? "")", "\($0["rule"] ?? "")", "\($0["group"] ?? "")", "\($0["state"] ?? "")",
                        "\($0["summary"] ?? "")", "\($0["delivery"] ?? "")"
                    ]
                })
        }
    }

    struct Silence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a rule's notifications (* for all) until a time; the history goes on.")
        @OptionGroup var connection: Operator.Connection
        @Argument var rule: String
        @Option(name: .long, help: "RFC 3339 time or Unix seconds.") var until: String
        @Option(name: .long) var reason: String?

        func run() async throws {
            var body: [String: Any] = ["rule": rule, "until": until]
            body["reason"] = reason
            _ = try Operator.json(try await connection.client().sendJSON("POST", "coffer/health/alerts/silence", body), expect: 204)
            print("\(rule) silenced until \(until)")
        }
    }
}
