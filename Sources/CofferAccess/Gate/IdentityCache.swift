import CofferCrypto
import CofferFoundation

/// Identities (a token's entry and ACL) this instance has read, by the token's keyed hash, each with the
/// revocation epoch (`gate_epoch`) it was read under. An entry is used only while the epoch the request reads is
/// still that one: anything that takes authority away (a revocation, a policy change; Migrations' triggers)
/// moves the epoch in its own transaction, so a request that starts after such a call returned, on any instance,
/// reads the token again. Tokens with limited uses are never kept (each use is spent in the database).
///
/// An entry is also used for at most ``maxAge``: the epoch is moved by database triggers, and a database writer
/// who drops them could otherwise keep a revoked token alive on the instances that hold it; with the bound, such
/// a writer delays a revocation by that long at most (Docs/THREAT_MODEL.md, "A database writer").
///
/// The hash is a keyed BLAKE2b of the token, not the token; an entry found by the dictionary's lookup is
/// compared again in constant time, as the database's indexed lookup is.
final class IdentityCache: Sendable {
    struct Entry {
        let hash: [UInt8]
        let epoch: Int64
        let identity: Gate.Identity
        let kept: ContinuousClock.Instant
    }

    static let maxAge: Duration = .seconds(10)

    /// Past this many entries the cache starts over: a bound on memory, not a policy (a miss costs one read).
    static let capacity = 10_000
    private let entries = Locked<[[UInt8]: Entry]>([:])

    /// The identity kept for `hash` if it was read under `epoch`.
    func identity(for hash: [UInt8], at epoch: Int64) -> Gate.Identity? {
        guard let (identity, keptEpoch) = kept(for: hash), keptEpoch == epoch else { return nil }
        return identity
    }

    /// The identity kept for `hash` and the epoch it was kept under, whatever the epoch is now (the caller
    /// checks it later: ``GateRequest/EpochCheck/inModule``).
    func kept(for hash: [UInt8]) -> (Gate.Identity, epoch: Int64)? {
        guard let entry = entries.withLock({ $0[hash] }), ContinuousClock.now - entry.kept < Self.maxAge,
            ConstantTime.equals(entry.hash, hash)
        else { return nil }
        return (entry.identity, entry.epoch)
    }

    /// Keeps `identity`, read under `epoch` (an epoch read before the token and policies were).
    func keep(_ identity: Gate.Identity, for hash: [UInt8], at epoch: Int64) {
        guard identity.entry.numUses == 0 else { return }
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[hash] = Entry(hash: hash, epoch: epoch, identity: identity, kept: ContinuousClock.now)
        }
    }
}
