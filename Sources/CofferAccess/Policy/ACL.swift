/// The compiled policies of one token: answers "may this capability be used on this path?" with the
/// rule that decided, by Vault's rules.
///
/// Rules for the same path pattern from several policies are merged (their capabilities united); among
/// the patterns that match a path, the most specific one decides (``PathPattern`` priority); `deny` in
/// the deciding rule refuses everything. A path no rule matches is refused.
public struct ACL: Sendable {
    /// The answer, and why.
    public struct Decision: Sendable, Equatable, CustomStringConvertible {
        public let allowed: Bool
        /// The deciding pattern, or `nil` when no rule matched.
        public let pattern: PathPattern?
        /// Its merged capabilities.
        public let capabilities: Capabilities
        /// The policies (and rule locations) that contributed to the deciding pattern.
        public let sources: [String]

        public var description: String {
            guard let pattern else { return "deny: no rule matches" }
            return "\(allowed ? "allow" : "deny"): path \"\(pattern)\" \(capabilities) from \(sources.joined(separator: ", "))"
        }
    }

    private struct Entry: Sendable {
        let pattern: PathPattern
        var capabilities: Capabilities
        var sources: [String]
    }

    /// Exact rules by their path's bytes (not `String`, whose equality folds Unicode forms together).
    private let exact: [[UInt8]: Entry]
    /// Patterns with a wildcard, most specific first.
    private let wildcards: [Entry]

    /// The ACL of one policy fixed in Coffer's code (a service identity's, a delegated authority's). Such a text
    /// is a constant checked by a test, so one that does not parse is a build defect, not bad input.
    init(fixed name: String, text: String) {
        do { self.init(policies: [try PolicyParser.parse(name: name, text: text)]) } catch {
            preconditionFailure("the built-in policy \(name) does not parse: \(error)")
        }
    }

    public init(policies: [Policy]) {
        var merged: [PathPattern: Entry] = [:]
        for policy in policies {
            for rule in policy.rules {
                let source = rule.location.isEmpty ? policy.name : "\(policy.name):\(rule.location)"
                merged[rule.path, default: Entry(pattern: rule.path, capabilities: [], sources: [])].capabilities.formUnion(
                    rule.capabilities)
                merged[rule.path]?.sources.append(source)
            }
        }
        exact = Dictionary(uniqueKeysWithValues: merged.values.filter { !$0.pattern.hasWildcard }.map { ($0.pattern.bytes, $0) })
        wildcards = merged.values.filter { $0.pattern.hasWildcard }.sorted { $1.pattern.isLessSpecific(than: $0.pattern) }
    }

    /// Whether `capability` may be used on `path`.
    /// - Parameter listing: a LIST, whose path ends in `/`: as in Vault, an exact rule for the path without
    ///   that `/` (`path "sys/policies/acl"`) also decides, before any wildcard.
    public func check(_ capability: Capabilities, on path: String, listing: Bool = false) -> Decision {
        let bytes = Array(path.utf8)
        let listed = listing && bytes.last == UInt8(ascii: "/") ? exact[Array(bytes.dropLast())] : nil
        guard let entry = exact[bytes] ?? listed ?? wildcards.first(where: { $0.pattern.matches(bytes: bytes) }) else {
            return Decision(allowed: false, pattern: nil, capabilities: [], sources: [])
        }
        let allowed = !entry.capabilities.contains(.deny) && entry.capabilities.isSuperset(of: capability) && !capability.isEmpty
        return Decision(allowed: allowed, pattern: entry.pattern, capabilities: entry.capabilities, sources: entry.sources)
    }

    /// What the policies allow on `path`, as Vault's `sys/capabilities*` answer it: the deciding rule's
    /// capability names, sorted; `["deny"]` when no rule matches or the rule denies.
    public func capabilityNames(on path: String) -> [String] {
        let decision = check([], on: path)
        guard decision.pattern != nil, !decision.capabilities.contains(.deny), !decision.capabilities.isEmpty else { return ["deny"] }
        return Capabilities.names.filter { decision.capabilities.contains($0.1) }.map(\.0).sorted()
    }

    /// Whether some rule gives a capability (and no `deny`) on a path under `prefix` (`secret/`): Vault's
    /// test before it tells a client what a mount is (the CLI's preflight, `sys/internal/ui/mounts/*`).
    public func hasAnyAccess(under prefix: String) -> Bool {
        let wanted = Array(prefix.utf8)
        func reaches(_ entry: Entry) -> Bool {
            guard !entry.capabilities.contains(.deny), !entry.capabilities.isEmpty else { return false }
            let literal = entry.pattern.literalPrefix
            return literal.starts(with: wanted) || (entry.pattern.hasWildcard && wanted.starts(with: literal))
        }
        return exact.values.contains(where: reaches) || wildcards.contains(where: reaches)
    }
}
