import Foundation

/// Named points where a test makes the service die (`SIGKILL` to itself, as `kill -9` would) or fail, to prove
/// that work killed at that instant is resumed, rolled back or left whole. Off unless the environment variable
/// `COFFER_FAILPOINTS` lists points, such as `rotation.set.before=crash,keys.rekey.transaction=crash`; the table is
/// read once, so an unset variable costs one dictionary lookup per point. The points are listed in
/// Docs/RELIABILITY.md; no production deployment sets the variable.
public enum Failpoints {
    /// What a listed point does when reached.
    public enum Action: String, Sendable { case crash, error }

    static let table: [String: Action] = {
        guard let text = ProcessInfo.processInfo.environment["COFFER_FAILPOINTS"] else { return [:] }
        var table: [String: Action] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2, let action = Action(rawValue: parts[1]) { table[parts[0]] = action }
        }
        return table
    }()

    /// Reaches the point `name`: returns unless it is listed; kills the process for `crash`.
    /// - Throws: ``InjectedFault`` when the point is listed with `error`.
    public static func hit(_ name: String) throws(InjectedFault) {
        switch table[name] {
        case .crash: kill(getpid(), SIGKILL)
        case .error: throw InjectedFault(point: name)
        case nil: return
        }
    }
}

/// The failure a failpoint listed with `error` injects (tests only).
public struct InjectedFault: Error, Sendable, CustomStringConvertible {
    /// The failpoint's name.
    public let point: String
    public var description: String { "fault injected at \(point) (COFFER_FAILPOINTS)" }
}
