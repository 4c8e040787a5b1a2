import ArgumentParser
import CofferAccess
import Foundation

/// `coffer policy …`. For now the offline checks on policy files; the commands that act on the running
/// service's stored policies arrive with the Gate.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check policies written in Vault's policy language.",
        subcommands: [Check.self, Test.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Parse every policy file of a folder; report the first error with its line and column.")
        @Argument(help: "The folder, e.g. Policies/") var folder: String

        func run() throws {
            do {
                let policies = try PolicyFolder.load(folder)
                for (name, policy) in policies.sorted(by: { $0.key < $1.key }) { print("\(name): \(policy.rules.count) rule(s)") }
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
        @Option(name: .long, help: "The capability (read, create, update, patch, delete, list, sudo, rotate, audit).") var capability: String

        func run() throws {
            guard let wanted = Capabilities(name: capability), wanted != .deny else {
                throw ValidationError("unknown capability \"\(capability)\": use \(Capabilities.names.map(\.0).filter { $0 != "deny" }.joined(separator: ", "))")
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
