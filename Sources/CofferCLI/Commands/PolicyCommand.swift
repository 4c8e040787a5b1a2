import ArgumentParser
import CofferAccess
import Foundation

/// `coffer policy …`: the running service's stored policies (`write`, `read`, `list`, `delete`, `apply`), and
/// offline work on policy files (`check`, `test`, `fmt`).
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Manage ACL policies written in Vault's policy language.",
        subcommands: [Write.self, Read.self, List.self, Delete.self, Apply.self, Fmt.self, Check.self, Test.self]
    )

    struct Write: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a policy from a file (or - for stdin); refused with line and column if it does not parse.")
        @OptionGroup var connection: Operator.Connection
        @Argument(help: "The policy name.") var name: String
        @Argument(help: "The file (HCL or JSON), or - for stdin.") var file: String

        func run() async throws {
            let text = try PolicyCommand.readText(file)
            _ = try Operator.json(try await connection.client().sendJSON("PUT", "sys/policies/acl/\(name)", ["policy": text]), expect: 204)
            print("Success! Uploaded policy: \(name)")
        }
    }

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a stored policy as it was written.")
        @OptionGroup var connection: Operator.Connection
        @Argument(help: "The policy name.") var name: String

        func run() async throws {
            let data = try Operator.json(try await connection.client().send("GET", "sys/policies/acl/\(name)"))["data"] as? [String: Any]
            print(data?["policy"] as? String ?? "", terminator: "")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the stored policies (and root).")
        @OptionGroup var connection: Operator.Connection

        func run() async throws {
            let data =
                try Operator.json(
                    try await connection.client().send("GET", "sys/policies/acl", query: [URLQueryItem(name: "list", value: "true")]))[
                    "data"] as? [String: Any]
            for name in data?["keys"] as? [String] ?? [] { print(name) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a stored policy (root and default cannot be deleted).")
        @OptionGroup var connection: Operator.Connection
        @Argument(help: "The policy name.") var name: String

        func run() async throws {
            _ = try Operator.json(try await connection.client().send("DELETE", "sys/policies/acl/\(name)"), expect: 204)
            print("Success! Deleted policy: \(name)")
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the stored policies match a folder: add, update and delete; prints the difference. Idempotent.",
            discussion:
                "Every file is parsed first; if one fails, nothing is changed. `default` is updated from the folder but never deleted.")
        @OptionGroup var connection: Operator.Connection
        @Argument(help: "The folder, e.g. Policies/") var folder: String
        @Flag(name: .long, help: "Print the difference only.") var dryRun = false

        func run() async throws {
            let files: [String: String]
            do { files = try PolicyFolder.texts(folder) } catch let error as PolicyError { throw ClientError(error.description) }
            let client = try connection.client()
            let listed =
                try Operator.json(try await client.send("GET", "sys/policies/acl", query: [URLQueryItem(name: "list", value: "true")]))[
                    "data"] as? [String: Any]
            let stored = Set((listed?["keys"] as? [String] ?? []).filter { $0 != "root" })
            var changes = 0
            for (name, text) in files.sorted(by: { $0.key < $1.key }) {
                var current: String?
                if stored.contains(name) {
                    current =
                        (try Operator.json(try await client.send("GET", "sys/policies/acl/\(name)"))["data"] as? [String: Any])?["policy"]
                        as? String
                }
                guard current != text else {
                    print("= \(name)")
                    continue
                }
                print("\(current == nil ? "+" : "~") \(name)")
                changes += 1
                if !dryRun {
                    _ = try Operator.json(try await client.sendJSON("PUT", "sys/policies/acl/\(name)", ["policy": text]), expect: 204)
                }
            }
            for name in stored.subtracting(files.keys).subtracting(["default"]).sorted() {
                print("- \(name)")
                changes += 1
                if !dryRun { _ = try Operator.json(try await client.send("DELETE", "sys/policies/acl/\(name)"), expect: 204) }
            }
            print(
                changes == 0
                    ? "No changes: the stored policies match \(folder)"
                    : "\(changes) change(s)\(dryRun ? " (dry run: nothing written)" : " applied")")
        }
    }

    struct Fmt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a policy file formatted (two-space indent, comments kept); --write rewrites it.")
        @Argument(help: "The policy file.") var file: String
        @Flag(name: .long, help: "Rewrite the file in place.") var write = false

        func run() throws {
            let text = try PolicyCommand.readText(file)
            let formatted: String
            do { formatted = try PolicyFormatter.format(text, name: file) } catch let error as PolicyError {
                throw ClientError(error.description)
            }
            if write { try Data(formatted.utf8).write(to: URL(fileURLWithPath: file)) } else { print(formatted, terminator: "") }
        }
    }

    static func readText(_ file: String) throws -> String {
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
        guard let data else { throw ValidationError("cannot read \(file)") }
        return String(decoding: data, as: UTF8.self)
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse every policy file of a folder and print every rule kept; report the first error with its line and column.")
        @Argument(help: "The folder, e.g. Policies/") var folder: String

        func run() throws {
            do {
                let policies = try PolicyFolder.load(folder)
                // Every rule kept, with where it was written: a rule lost to a comment or a line end shows here.
                for (name, policy) in policies.sorted(by: { $0.key < $1.key }) {
                    print("\(name): \(policy.rules.count) rule(s)")
                    for rule in policy.rules {
                        print("  \(rule.location.isEmpty ? "" : rule.location + " ")path \"\(rule.path)\" \(rule.capabilities)")
                    }
                }
            } catch let error as PolicyError {
                throw ClientError(error.description)
            }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Would a token with these policies be allowed? Prints allow or deny and the rule that decided; exit 0 allow, 2 deny.")
        @Option(name: .long, help: "The policy folder.") var policiesDir = "Policies"
        @Option(name: .long, help: "Comma-separated policy names.") var tokenPolicies: String
        @Option(name: .long, help: "The request path, without /v1/ (e.g. secret/data/app/db).") var path: String
        @Option(name: .long, help: "The capability (read, create, update, patch, delete, list, sudo, rotate, audit).") var capability:
            String

        func run() throws {
            guard let wanted = Capabilities(name: capability), wanted != .deny else {
                throw ValidationError(
                    """
                    unknown capability \"\(capability)\": use \
                    \(Capabilities.names.map(\.0).filter { $0 != "deny" }.joined(separator: ", "))
                    """
                )
            }
            let all: [String: Policy]
            do { all = try PolicyFolder.load(policiesDir) } catch let error as PolicyError { throw ClientError(error.description) }
            let names = tokenPolicies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let policies = try names.map { name in
                guard let policy = all[name] else { throw ValidationError("no policy named \(name) in \(policiesDir)") }
                return policy
            }
            let decision = ACL(policies: policies).check(wanted, on: path)
            print(decision)
            if !decision.allowed { throw ExitCode(2) }
        }
    }
}
