/// Whether the reads of the running task may come from a standby, and how fresh it must be.
///
/// Set by the HTTP layer around a request that only reads (``ReplicaRoutedDatabase`` consults it); a task
/// without it (a write, a background service, start-up) reads the primary. Decided once per request and
/// passed down, so no module decides on its own whether its read may be stale.
public struct ReplicaRead: Sendable {
    /// The standby must have replayed at least this far (the newest consistency index the client presented,
    /// or the newest write this instance committed), else the read goes to the primary.
    public var atLeast: WALPosition?

    public init(atLeast: WALPosition?) {
        self.atLeast = atLeast
    }

    /// The current task's permission; `nil`: read the primary.
    @TaskLocal public static var current: ReplicaRead?
}
