/// A named ACL policy: path rules in Vault's policy language.
public struct Policy: Sendable, Equatable {
    /// One `path "pattern" { capabilities = [...] }` block.
    public struct Rule: Sendable, Equatable {
        public let path: PathPattern
        public let capabilities: Capabilities
        /// Where the rule was written (`line:column` of its `path` keyword), for "the rule that decided".
        public let location: String

        public init(path: PathPattern, capabilities: Capabilities, location: String = "") {
            self.path = path
            self.capabilities = capabilities
            self.location = location
        }
    }

    public let name: String
    public let rules: [Rule]

    public init(name: String, rules: [Rule]) {
        self.name = name
        self.rules = rules
    }

    /// `root`: built in, never stored, cannot be written or deleted; allows everything, `sudo` included.
    public static let rootName = "root"
    /// `default`: given to every token unless it is created with `no_default_policy`; cannot be deleted.
    public static let defaultName = "default"

    public static let root: Policy = {
        let everything = Capabilities(Capabilities.names.map(\.1).filter { $0 != .deny })
        // The pattern "*" always parses.
        return Policy(name: rootName, rules: [Rule(path: try! PathPattern("*"), capabilities: everything, location: "built-in")])
    }()
}

/// A path pattern: literal segments, `+` for exactly one segment, and an optional trailing `*` that
/// matches any suffix (including an empty one), as in Vault.
public struct PathPattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    /// - Throws: ``PolicyError`` for `*` anywhere but at the end, or a `+` that is not a whole segment.
    public init(_ text: String) throws {
        if let star = text.firstIndex(of: "*"), star != text.index(before: text.endIndex) {
            throw PolicyError("path \"\(text)\": * is allowed only at the end of a path")
        }
        for segment in text.split(separator: "/", omittingEmptySubsequences: false) where segment.contains("+") && segment != "+" {
            throw PolicyError("path \"\(text)\": + must be a whole path segment, as in secret/+/config")
        }
        self.text = text
    }

    public var description: String { text }

    var isGlob: Bool { text.hasSuffix("*") }
    var hasWildcard: Bool { text.contains("*") || segments.contains("+") }
    var segments: [Substring] { (isGlob ? Substring(text.dropLast()) : Substring(text)).split(separator: "/", omittingEmptySubsequences: false) }

    /// Whether `path` matches.
    public func matches(_ path: String) -> Bool {
        let pattern = Array(isGlob ? text.dropLast() : Substring(text))
        let target = Array(path)
        var p = 0, t = 0
        while p < pattern.count {
            if pattern[p] == "+" {
                // One whole segment: anything up to the next "/" (possibly empty, as Vault allows).
                while t < target.count, target[t] != "/" { t += 1 }
                p += 1
                continue
            }
            guard t < target.count, target[t] == pattern[p] else { return false }
            p += 1
            t += 1
        }
        return isGlob || t == target.count
    }

    /// Vault's priority between two matching patterns; true when `self` is less specific than `other`.
    /// 1. a wildcard (`+` or `*`) earlier is lower; 2. ending in `*` is lower; 3. more `+` segments is lower;
    /// 4. shorter is lower; 5. lexically smaller is lower.
    func isLessSpecific(than other: PathPattern) -> Bool {
        let mine = firstWildcard, theirs = other.firstWildcard
        if mine != theirs { return mine < theirs }
        if isGlob != other.isGlob { return isGlob }
        let myPlus = segments.filter { $0 == "+" }.count, theirPlus = other.segments.filter { $0 == "+" }.count
        if myPlus != theirPlus { return myPlus > theirPlus }
        if text.count != other.text.count { return text.count < other.text.count }
        return text < other.text
    }

    /// Character offset of the first `+` or `*`, or `Int.max` for an exact path.
    private var firstWildcard: Int {
        let characters = Array(text)
        for (index, character) in characters.enumerated() {
            if character == "*" { return index }
            if character == "+", index == 0 || characters[index - 1] == "/",
                index + 1 == characters.count || characters[index + 1] == "/" { return index }
        }
        return Int.max
    }
}

/// A policy that cannot be parsed or used; the message names the line and column where it can.
public struct PolicyError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
