/// What a policy rule allows on a path: Vault's capabilities plus Coffer's own.
public struct Capabilities: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let create = Capabilities(rawValue: 1 << 0)
    public static let read = Capabilities(rawValue: 1 << 1)
    public static let update = Capabilities(rawValue: 1 << 2)
    public static let patch = Capabilities(rawValue: 1 << 3)
    public static let delete = Capabilities(rawValue: 1 << 4)
    public static let list = Capabilities(rawValue: 1 << 5)
    public static let sudo = Capabilities(rawValue: 1 << 6)
    /// Overrides every other capability on the path, from any policy.
    public static let deny = Capabilities(rawValue: 1 << 7)
    /// Coffer: run a credential rotation.
    public static let rotate = Capabilities(rawValue: 1 << 8)
    /// Coffer: read and verify the audit trail.
    public static let audit = Capabilities(rawValue: 1 << 9)

    /// Names as written in policies, in a fixed order.
    public static let names: [(String, Capabilities)] = [
        ("create", .create), ("read", .read), ("update", .update), ("patch", .patch), ("delete", .delete),
        ("list", .list), ("sudo", .sudo), ("deny", .deny), ("rotate", .rotate), ("audit", .audit)
    ]

    /// The capability named `name`, or `nil` for an unknown name.
    public init?(name: String) {
        guard let match = Self.names.first(where: { $0.0 == name }) else { return nil }
        self = match.1
    }

    public var description: String {
        "[" + Self.names.filter { contains($0.1) }.map { "\"\($0.0)\"" }.joined(separator: ", ") + "]"
    }
}
