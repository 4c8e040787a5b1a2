import CofferFoundation
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The least free space the data's file system must keep for reads. Every request writes an audit entry, so a
/// full disk would stop reads as well as writes; below the floor the Gate refuses changes (which grow the data)
/// while reads, whose only write is their audit entry, go on in the space left (the watermark Elasticsearch calls
/// flood stage). Only for SQLite, whose file system is this host's; PostgreSQL's disk is its server's to watch.
public final class StorageFloor: Sendable {
    /// The folder whose file system is watched (the SQLite database's).
    public let folder: String
    /// Below this many free bytes, changes are refused.
    public let minimumFreeBytes: UInt64
    /// How long a measurement is reused: one `statvfs` a second, not one per request.
    static let measurementAge: Duration = .seconds(1)
    private let measured = Locked<(at: ContinuousClock.Instant, free: UInt64)?>(nil)

    public init(folder: String, minimumFreeBytes: UInt64) {
        self.folder = folder
        self.minimumFreeBytes = minimumFreeBytes
    }

    /// The free bytes an unprivileged writer may use on the folder's file system; `nil` when it cannot be measured.
    public func freeBytes() -> UInt64? {
        let now = ContinuousClock.now
        if let last = measured.withLock({ $0 }), now - last.at < Self.measurementAge { return last.free }
        var stats = statvfs()
        guard statvfs(folder, &stats) == 0 else { return nil }
        let free = UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
        measured.withLock { $0 = (now, free) }
        return free
    }

    /// Why the change `request` is refused now, or `nil` when there is room (or the space cannot be measured:
    /// then the database's own error decides, as without a floor), or when it is one a full disk must not stop.
    func refusal(of request: GateRequest) -> AccessError? {
        guard !Self.letsThrough(request), let free = freeBytes(), free < minimumFreeBytes else { return nil }
        return AccessError(
            .storageLow,
            "the data disk has \(Self.mebibytes(free)) free, under the \(Self.mebibytes(minimumFreeBytes)) kept for reads "
                + "(storage_min_free): changes are refused and reads go on; free space on it and changes resume")
    }

    /// The changes that stay possible under the floor, each a row or two of bounded size: the unauthenticated
    /// operator endpoints (init, unseal, rekey, generate-root), logins (`auth/<mount>/login…`) and the token
    /// calls services go on reading with (`auth/token/renew…`, `revoke…`, `lookup…`), sealing, revoking leases,
    /// and unwrapping (how a service receives a wrapped secret). Revoking and sealing must never wait for disk
    /// space. Creating tokens, AppRole secret IDs or roles is refused: a caller who may create tokens could
    /// otherwise spend the space left for reads on tokens with large metadata.
    static func letsThrough(_ request: GateRequest) -> Bool {
        let path = request.path.text
        if request.access == .open || path == "sys/seal" || path.hasPrefix("sys/leases/revoke") || path.hasPrefix("sys/revoke")
            || path == "sys/wrapping/unwrap"
        {
            return true
        }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count >= 3, segments[0] == "auth" else { return false }
        if segments[2] == "login" { return true }
        return segments[1] == "token" && segments.count == 3
            && [
                "renew", "renew-self", "renew-accessor", "revoke", "revoke-self", "revoke-accessor", "revoke-orphan", "lookup",
                "lookup-self",
                "lookup-accessor"
            ].contains(segments[2])
    }

    static func mebibytes(_ bytes: UInt64) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}
