public import CofferFoundation
public import Foundation

/// A wall clock a test moves forward: run the code under test with `WallClock.$source.withValue(time) { … }` and
/// call ``advance(by:)`` where it would otherwise sleep for a TTL to pass.
///
/// It runs at the system clock's pace in between, so time never stands still (two writes a moment apart still
/// get different times, and a stored time rounded to microseconds is never ahead of the next reading).
public final class ManualTime: TimeSource {
    private let offset = Locked<TimeInterval>(0)

    public init() {}

    public var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    /// Moves the clock forward by `seconds`.
    public func advance(by seconds: TimeInterval) {
        offset.withLock { $0 += seconds }
    }
}
