/// Vault's LIST answer over stored paths: the names directly under a prefix, and the sub-prefixes below it
/// ending in `/`, sorted and without repeats (KV secrets, leases).
public enum ListedKeys {
    /// - Parameter prefix: empty for the top, else ending in `/`.
    public static func under(_ prefix: String, in paths: [String]) -> [String] {
        let count = prefix.utf8.count
        var keys = Set<String>()
        for path in paths where path.utf8.count > count && path.hasPrefix(prefix) {
            let rest = path.utf8.dropFirst(count)
            if let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
                keys.insert(String(decoding: rest[..<slash], as: UTF8.self) + "/")
            } else {
                keys.insert(String(decoding: rest, as: UTF8.self))
            }
        }
        return keys.sorted()
    }
}
