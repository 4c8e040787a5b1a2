public import Foundation
import CofferCrypto

/// A token as Coffer stores it (Vault's token model): everything but the token itself, which exists
/// only in the hands of its holder and as a keyed hash in the database.
public struct TokenEntry: Sendable, Equatable {
    /// Non-secret handle: names the token in audit entries and lets an operator revoke it.
    public let accessor: String
    /// The token that created this one; `nil` for an orphan. Revoking a parent revokes its children.
    public internal(set) var parentAccessor: String?
    /// Sorted policy names.
    public let policies: [String]
    public let meta: [String: String]?
    public let displayName: String
    /// Where it was made: `auth/token/create`, `auth/approle/login`, `sys/init`.
    public let path: String
    /// The TTL it was created with, in seconds; 0 for a token that never expires.
    public let creationTTL: Int64
    public let explicitMaxTTL: Int64
    /// Uses left; 0 means unlimited.
    public internal(set) var numUses: Int64
    public let renewable: Bool
    public let createdAt: Date
    public internal(set) var expiresAt: Date?
    /// Renewals never move the expiry past this.
    public let maxExpiresAt: Date?
    /// Addresses the token may be used from (AppRole's `token_bound_cidrs`); empty means anywhere.
    public var boundCIDRs: [String] = []
    /// A periodic token's period in seconds: each renewal sets its TTL to this, and only an explicit maximum
    /// ends it. 0 for a token that is not periodic.
    public var period: Int64 = 0
    /// The token role it was made from (`auth/token/create/:role`).
    public var role: String?
    /// When it was last renewed.
    public var lastRenewalAt: Date?

    public var orphan: Bool { parentAccessor == nil }
    public var isRoot: Bool { policies.contains(Policy.rootName) }

    /// Seconds left at `now` (0 for a token that never expires).
    public func ttl(at now: Date) -> Int64 {
        guard let expiresAt else { return 0 }
        return max(0, Int64(expiresAt.timeIntervalSince(now).rounded(.down)))
    }

    /// Whether the token has expired at `now`. Expired tokens are refused at once, not when a reaper runs.
    public func isExpired(at now: Date) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt <= now
    }
}

/// Token strings and accessors.
public enum TokenFormat {
    /// Service tokens: `cfs.` and 32 random bytes, base64url. The initial root token from init is `cfr.…`.
    public static let servicePrefix = "cfs."
    public static let rootPrefix = "cfr."
    /// Longest token accepted in a header; anything longer is refused before it is hashed.
    public static let maximumLength = 256

    static func newToken() -> String { servicePrefix + base64URL(Random.bytes(32)) }
    static func newAccessor() -> String { base64URL(Random.bytes(18)) }

    /// Whether `token` has the shape of a Coffer token: printable ASCII, no spaces, bounded. Says nothing
    /// about whether it is valid; it keeps junk out of the hash and the database.
    public static func isWellFormed(_ token: String) -> Bool {
        guard !token.isEmpty, token.utf8.count <= maximumLength else { return false }
        return token.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// What a caller asks for in `auth/token/create` (Vault's parameters).
public struct TokenRequest: Sendable {
    public var policies: [String]?
    public var meta: [String: String]?
    public var displayName: String?
    /// Seconds; `nil` for the default TTL.
    public var ttl: Int64?
    public var explicitMaxTTL: Int64?
    public var numUses: Int64
    public var renewable: Bool
    public var noParent: Bool
    public var noDefaultPolicy: Bool
    /// Seconds; a periodic token (needs root or `sudo`, or a role that sets one).
    public var period: Int64?

    public init(
        policies: [String]? = nil, meta: [String: String]? = nil, displayName: String? = nil, ttl: Int64? = nil,
        explicitMaxTTL: Int64? = nil, numUses: Int64 = 0, renewable: Bool = true, noParent: Bool = false,
        noDefaultPolicy: Bool = false, period: Int64? = nil
    ) {
        self.period = period
        self.policies = policies
        self.meta = meta
        self.displayName = displayName
        self.ttl = ttl
        self.explicitMaxTTL = explicitMaxTTL
        self.numUses = numUses
        self.renewable = renewable
        self.noParent = noParent
        self.noDefaultPolicy = noDefaultPolicy
    }
}

/// A token just made: the token itself (shown once) and its entry.
public struct IssuedToken: Sendable {
    public let token: String
    public let entry: TokenEntry
}
