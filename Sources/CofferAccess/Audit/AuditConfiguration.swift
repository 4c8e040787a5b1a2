import Foundation

/// How the audit trail is written.
public struct AuditConfiguration: Sendable {
    /// A request whose entry is not durable within this time fails with 503, and its result is withheld.
    public var durableWithin: Duration
    /// A signed checkpoint after this many entries…
    public var checkpointEvery: Int64
    /// …or after this long, whichever comes first.
    public var checkpointInterval: Duration
    /// Where checkpoints are also written, outside the database.
    public var witness: AuditWitness
    /// Most entries in one group commit.
    public var batchLimit: Int
    /// Entries waiting beyond this are refused at once (503) instead of queueing without bound.
    public var maxPending: Int
    /// Extra copies of every committed entry as JSON lines (a file a SIEM tails, or stdout). Best effort:
    /// the database is the trail; a copy that cannot be written is logged, not fatal.
    public var copies: [AuditCopy]
    /// Where `sys/audit` devices may write.
    public var deviceLimits: AuditDeviceLimits

    public init(
        durableWithin: Duration = .seconds(2), checkpointEvery: Int64 = 1000, checkpointInterval: Duration = .seconds(60),
        witness: AuditWitness = .log, batchLimit: Int = 512, maxPending: Int = 20_000, copies: [AuditCopy] = [],
        deviceLimits: AuditDeviceLimits = .init()
    ) {
        self.copies = copies
        self.deviceLimits = deviceLimits
        self.durableWithin = durableWithin
        self.checkpointEvery = checkpointEvery
        self.checkpointInterval = checkpointInterval
        self.witness = witness
        self.batchLimit = batchLimit
        self.maxPending = maxPending
    }
}

/// Where committed entries are also copied, one JSON line each (the format of `coffer audit export`).
public enum AuditCopy: Sendable, Equatable {
    case file(String)
    case stdout
}

/// The append-only witness of checkpoints, outside the database: a chain alone cannot show that its
/// newest entries were cut off, a checkpoint kept elsewhere can.
public enum AuditWitness: Sendable, Equatable {
    /// A file opened for appending (in another folder, ideally on another disk or a log shipper's input).
    case file(String)
    /// Standard output, one JSON line per checkpoint (for a container's log collector).
    case stdout
    /// The service log at `notice` level (the default when nothing else is configured).
    case log
}
