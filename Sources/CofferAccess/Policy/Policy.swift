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

    /// A policy name as Vault keeps it: lower case (`Admins` and `admins` are one policy), decided once where
    /// a name enters Coffer (the policy store, token creation, role settings).
    public static func canonicalName(_ name: String) -> String {
        name.lowercased()
    }

    /// `names` canonical, without duplicates, in their first order.
    public static func canonicalNames(_ names: [String]) -> [String] {
        var seen: Set<String> = []
        return names.map(canonicalName).filter { seen.insert($0).inserted }
    }
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
    /// The pattern's UTF-8 bytes: every comparison is over bytes, as storage compares keys. Swift's `String`
    /// equality treats canonically equivalent Unicode (NFC `é` and NFD `e\u{301}`) as equal, so a rule for one
    /// form would decide requests for a secret stored under the other.
    let bytes: [UInt8]
    /// Whether the pattern ends in `*` (matches any suffix).
    let isGlob: Bool

    /// - Throws: ``PolicyError`` for `*` anywhere but at the end, or a `+` that is not a whole segment.
    public init(_ text: String) throws {
        let bytes = Array(text.utf8)
        if let star = bytes.firstIndex(of: UInt8(ascii: "*")), star != bytes.count - 1 {
            throw PolicyError("path \"\(text)\": * is allowed only at the end of a path")
        }
        for segment in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        where segment.contains(UInt8(ascii: "+")) && !segment.elementsEqual([UInt8(ascii: "+")]) {
            throw PolicyError("path \"\(text)\": + must be a whole path segment, as in secret/+/config")
        }
        self.text = text
        self.bytes = bytes
        self.isGlob = bytes.last == UInt8(ascii: "*")
    }

    public var description: String { text }

    public static func == (lhs: PathPattern, rhs: PathPattern) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    var hasWildcard: Bool { isGlob || plusCount > 0 }
    /// The bytes before the first wildcard (all of them for an exact path).
    var literalPrefix: ArraySlice<UInt8> {
        bytes[..<(bytes.firstIndex { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "+") } ?? bytes.endIndex)]
    }
    private var body: ArraySlice<UInt8> { isGlob ? bytes.dropLast() : bytes[...] }
    private var plusCount: Int {
        body.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).filter { $0.elementsEqual([UInt8(ascii: "+")]) }.count
    }

    /// Whether `path` matches, byte for byte.
    public func matches(_ path: String) -> Bool {
        matches(bytes: Array(path.utf8))
    }

    /// Whether the path's UTF-8 bytes match.
    func matches(bytes target: [UInt8]) -> Bool {
        let pattern = body
        var p = pattern.startIndex, t = 0
        while p < pattern.endIndex {
            if pattern[p] == UInt8(ascii: "+") {
                // One whole segment: anything up to the next "/" (possibly empty, as Vault allows).
                while t < target.count, target[t] != UInt8(ascii: "/") { t += 1 }
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
    /// 4. shorter is lower; 5. lexically (bytewise) smaller is lower.
    func isLessSpecific(than other: PathPattern) -> Bool {
        let mine = firstWildcard, theirs = other.firstWildcard
        if mine != theirs { return mine < theirs }
        if isGlob != other.isGlob { return isGlob }
        let myPlus = plusCount, theirPlus = other.plusCount
        if myPlus != theirPlus { return myPlus > theirPlus }
        if bytes.count != other.bytes.count { return bytes.count < other.bytes.count }
        return bytes.lexicographicallyPrecedes(other.bytes)
    }

    /// Byte offset of the first `+` or `*`, or `Int.max` for an exact path.
    private var firstWildcard: Int {
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "*") { return index }
            if byte == UInt8(ascii: "+"), index == 0 || bytes[index - 1] == UInt8(ascii: "/"),
                index + 1 == bytes.count || bytes[index + 1] == UInt8(ascii: "/")
            {
                return index
            }
        }
        return Int.max
    }
}

/// A policy that cannot be parsed or used; the message names the line and column where it can.
public struct PolicyError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
