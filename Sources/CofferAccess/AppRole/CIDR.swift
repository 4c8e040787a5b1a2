import CofferFoundation
import Foundation

/// An IPv4 or IPv6 address block, as in `10.0.0.0/8` or `fd00::/8`; a bare address is a block of one.
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    let network: [UInt8]
    let prefix: Int
    public let description: String

    /// - Throws: ``AccessError`` `.invalidRequest` naming the text that is not a CIDR block.
    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = parts.first.flatMap(Self.bytes) else {
            throw AccessError(.invalidRequest, "\"\(text.prefix(60))\" is not a CIDR block such as 10.0.0.0/8 or fd00::/8")
        }
        let bits = address.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : bits
        guard let prefix, (0...bits).contains(prefix) else {
            throw AccessError(.invalidRequest, "\"\(text.prefix(60))\" has a prefix length outside 0…\(bits)")
        }
        self.network = address
        self.prefix = prefix
        self.description = trimmed
    }

    /// Whether `address` (an IPv4 or IPv6 address as text) lies in this block. IPv4-mapped IPv6 addresses
    /// (`::ffff:10.0.0.1`) count as their IPv4 address.
    public func contains(_ address: String) -> Bool {
        guard var bytes = Self.bytes(address) else { return false }
        if bytes.count == 16, network.count == 4, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == network.count else { return false }
        var remaining = prefix
        for index in network.indices where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            if bytes[index] & mask != network[index] & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// Parses a list given as a JSON list or a comma-separated string.
    public static func list(_ items: [String]) throws -> [CIDR] {
        try items.flatMap { $0.split(separator: ",") }.map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(
            CIDR.init)
    }

    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

extension Array where Element == CIDR {
    /// Whether `address` is allowed: an empty list allows every address.
    func allows(_ address: String) -> Bool { isEmpty || contains { $0.contains(address) } }
}
