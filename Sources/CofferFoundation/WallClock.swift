public import struct Foundation.Date

/// Where the current time comes from. ``SystemTime`` in production; a test supplies one it moves by hand.
public protocol TimeSource: Sendable {
    /// The current wall-clock time.
    var now: Date { get }
}

/// The system's wall clock.
public struct SystemTime: TimeSource {
    public init() {}
    public var now: Date { Date() }
}

/// Coffer's wall clock: every expiry, TTL, schedule and timestamp the modules decide reads `WallClock.now`.
///
/// The source is a task-local value rather than a parameter of every store: the time is a fact of the request
/// (or the background pass) being served, and a task-local reaches the Gate, the stores and the tasks they start
/// without threading a clock through each initialiser. A test runs a server under its own source,
/// `WallClock.$source.withValue(manual) { … }`, and moves time with `manual.advance(by:)` instead of sleeping;
/// tests running in parallel each keep their own. Durations (timeouts, latencies) use `ContinuousClock`; log
/// lines, the audit chain's checkpoints and the audit devices' lines keep the system time.
public enum WallClock {
    @TaskLocal public static var source: any TimeSource = SystemTime()

    /// The current time from the task's source.
    public static var now: Date { source.now }
}
