import ArgumentParser
import Foundation

/// What `coffer … apply` sends: a kind of definition the service keeps as code (health checks, alert rules).
protocol DefinitionKind {
    /// The file's one key, holding the list, and the word the help text uses for its items ("checks", "rules").
    static var listKey: String { get }
    /// Where the definitions are PUT.
    static var path: String { get }
}

/// `coffer health apply FILE` and `coffer alerts apply FILE`: makes the service's definitions of one kind those of
/// FILE, removing what the file does not name unless `--keep`, and prints what changed: `+ name`, `~ name`,
/// `- name`.
struct ApplyDefinitions<Kind: DefinitionKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "apply",
            abstract: "Make the service's \(Kind.listKey) those of FILE ({\"\(Kind.listKey)\": [...]}); others are removed unless --keep.")
    }

    @OptionGroup var connection: Operator.Connection
    @Argument var file: String
    @Flag(name: .long, help: ArgumentHelp("Keep \(Kind.listKey) the file does not name.")) var keep = false

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw ClientError("cannot read \(file)") }
        let reply = try await connection.client().send(
            "PUT", Kind.path, query: keep ? [URLQueryItem(name: "prune", value: "false")] : [], body: data)
        let answer = (try Operator.json(reply)["data"] as? [String: Any]) ?? [:]
        let changes = [("+", "added"), ("~", "changed"), ("-", "removed")].flatMap { mark, key in
            (answer[key] as? [String] ?? []).map { "\(mark) \($0)" }
        }
        print(changes.isEmpty ? "= nothing to change" : changes.joined(separator: "\n"))
    }
}

/// The health checks of `coffer health apply`.
enum HealthChecks: DefinitionKind {
    static let listKey = "checks"
    static let path = "coffer/health/checks"
}

/// The alert rules of `coffer alerts apply`.
enum AlertRules: DefinitionKind {
    static let listKey = "rules"
    static let path = "coffer/health/alerts/rules"
}
