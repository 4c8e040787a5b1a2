import ArgumentParser
import Foundation

/// `coffer metrics …`: system metrics on the running service (Docs/SUITE.md, "System metrics").
struct MetricsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Push points (JSON or Prometheus text), query ranges, list series, set retention.",
        subcommands: [Push.self, Query.self, Series.self, Retention.self]
    )

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Push one point (NAME VALUE [LABEL=VALUE…]) or a file (--file; Prometheus text or a JSON array).")
        @OptionGroup var connection: Operator.Connection
        @Argument var name: String?
        @Argument var value: Double?
        @Argument(help: "LABEL=VALUE pairs.") var labels: [String] = []
        @Option(
            name: .long,
            help: "A file of points: Prometheus text exposition, or a JSON array of {name, labels, value, timestamp}; - for stdin.")
        var file: String?

        func run() async throws {
            let client = try connection.client()
            let reply: CofferClient.Reply
            if let file {
                let data =
                    file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : (FileManager.default.contents(atPath: file) ?? Data())
                let text = String(decoding: data, as: UTF8.self)
                if text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("[") {
                    guard let points = try? JSONSerialization.jsonObject(with: data) else {
                        throw ClientError("\(file) is not a JSON array of points")
                    }
                    reply = try await client.sendJSON("POST", "coffer/metrics/points", ["points": points])
                } else {
                    reply = try await client.send("POST", "coffer/metrics/points", body: data, contentType: "text/plain; version=0.0.4")
                }
            } else {
                guard let name, let value else { throw ValidationError("give NAME VALUE [LABEL=VALUE…] or --file") }
                var labelMap: [String: String] = [:]
                for pair in labels {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else { throw ValidationError("labels take LABEL=VALUE, not \(pair)") }
                    labelMap[parts[0]] = parts[1]
                }
                reply = try await client.sendJSON(
                    "POST", "coffer/metrics/points", ["points": [["name": name, "value": value, "labels": labelMap]]])
            }
            let data = (try Operator.json(reply)["data"] as? [String: Any]) ?? [:]
            print("Stored \(data["stored"] ?? 0) points (\(data["duplicates"] ?? 0) duplicates skipped)")
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A range query: FN of NAME per step, grouped by labels.")
        @OptionGroup var connection: Operator.Connection
        @Argument var name: String
        @Option(name: .long, help: "avg, sum, min, max, count, rate, p50, p90 or p99.") var fn = "avg"
        @Option(name: .long, help: "Start (RFC 3339 or Unix seconds; default an hour ago).") var from: String?
        @Option(name: .long, help: "End (default now).") var to: String?
        @Option(name: .long, help: "Step, e.g. 60, 5m, 1h.") var step = "60"
        @Option(name: .long, help: "Group by these labels, comma-separated.") var by: String?
        @Option(name: .long, help: "Only series with these labels: LABEL=VALUE,…") var match: String?
        @Flag(name: .long, help: "Print the JSON answer.") var json = false

        func run() async throws {
            var query = [
                URLQueryItem(name: "name", value: name), URLQueryItem(name: "fn", value: fn), URLQueryItem(name: "step", value: step)
            ]
            if let from { query.append(URLQueryItem(name: "from", value: from)) }
            if let to { query.append(URLQueryItem(name: "to", value: to)) }
            if let by { query.append(URLQueryItem(name: "by", value: by)) }
            if let match { query.append(URLQueryItem(name: "match", value: match)) }
            let reply = try await connection.client().send("GET", "coffer/metrics/query", query: query)
            let answer = try Operator.json(reply)
            if json {
                print(String(decoding: reply.body, as: UTF8.self))
                return
            }
            for result in (answer["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? [] {
                let labels = (result["labels"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    .joined(separator: ",")
                print("{\(labels)} (\(result["source"] ?? ""))")
                for pair in result["values"] as? [[Double]] ?? [] where pair.count == 2 {
                    print("  \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: pair[0])))  \(pair[1])")
                }
            }
        }
    }

    struct Series: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Series (of one metric, or all).")
        @OptionGroup var connection: Operator.Connection
        @Argument var name: String?

        func run() async throws {
            let query = name.map { [URLQueryItem(name: "name", value: $0)] } ?? []
            for series
                in (try Operator.json(try await connection.client().send("GET", "coffer/metrics/series", query: query))["data"]
                as? [String: Any])?["series"] as? [[String: Any]] ?? []
            {
                let labels = (series["labels"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }
                    .joined(separator: ",")
                print("\(series["name"] ?? ""){\(labels)}")
            }
        }
    }

    struct Retention: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set how long NAME's raw points and rollups are kept, and its series cap.")
        @OptionGroup var connection: Operator.Connection
        @Argument var name: String
        @Option(name: .long, help: "Raw points, e.g. 168h (0 keeps them).") var raw: String?
        @Option(name: .long, help: "Minute rollups.") var minute: String?
        @Option(name: .long, help: "Hour rollups.") var hour: String?
        @Option(name: .long, help: "Distinct label sets allowed.") var maxSeries: Int?

        func run() async throws {
            let client = try connection.client()
            var body: [String: Any] = [:]
            body["raw"] = raw
            body["minute"] = minute
            body["hour"] = hour
            body["max_series"] = maxSeries
            if !body.isEmpty {
                _ = try Operator.json(
                    try await client.sendJSON("PUT", "coffer/metrics/retention/\(ModelCommand.segment(name))", body), expect: 204)
            }
            let data =
                (try Operator.json(try await client.send("GET", "coffer/metrics/retention/\(ModelCommand.segment(name))"))["data"]
                    as? [String: Any]) ?? [:]
            print(
                """
                \(name): raw \(data["raw"] ?? 0) s, 1m rollups \(data["minute"] ?? 0) s, 1h rollups \(data["hour"] ?? 0) s, at \
                most \(data["max_series"] ?? 0) series
                """
            )
        }
    }
}
