import CofferAccess
import Foundation

/// Policies as code: HCL or its JSON form, from Policies/ and from `sys/policies/acl`.
enum PolicyTarget {
    static let target = FuzzTarget(
        "policy",
        "policy text (HCL and JSON): parses or is refused; for a parsed policy, a path each rule names is decided "
            + "by some rule, and a rule with deny that decides a path never allows it",
        repositoryFolders: ["Policies"]
    ) { input throws(FuzzFinding) in
        guard let policy = try? PolicyParser.parse(name: "fuzz", text: input.text) else { return }
        try require(policy.name == "fuzz", "the parsed policy lost its name")
        let acl = ACL(policies: [policy])
        for rule in policy.rules.prefix(16) {
            // A path this rule matches: each `+` segment as one letter, a final `*` as nothing.
            var path = rule.path.text
            if path.hasSuffix("*") { path.removeLast() }
            path = path.split(separator: "/", omittingEmptySubsequences: false).map { $0 == "+" ? "x" : String($0) }.joined(
                separator: "/")
            try require(rule.path.matches(path), "the rule \(rule.path) does not match \(path), a path made from it")
            let decision = acl.check(.read, on: path)
            try require(decision.pattern != nil, "no rule decides \(path), though \(rule.path) matches it")
            if decision.capabilities.contains(.deny) {
                try require(!decision.allowed, "\(path) is allowed though the deciding rule \(decision.pattern!) denies")
            }
        }
    }
}
