import Foundation

/// Named points where a test makes the service die (`SIGKILL` to itself, as `kill -9` would) or fail, to
/// prove that a rotation killed at any instant is resumed or rolled back. Off unless the environment
/// variable `COFFER_FAILPOINTS` lists points, such as `rotation.set.before=crash,rotation.test.before=error`.
/// Documented in Docs/ROTATION.md; no production deployment sets it.
enum Failpoints {
    enum Action: String { case crash, error }

    static let table: [String: Action] = {
        guard let text = ProcessInfo.processInfo.environment["COFFER_FAILPOINTS"] else { return [:] }
        var table: [String: Action] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2, let action = Action(rawValue: parts[1]) { table[parts[0]] = action }
        }
        return table
    }()

    static func hit(_ name: String) throws {
        switch table[name] {
        case .crash: kill(getpid(), SIGKILL)
        case .error: throw RotationError.injected(name)
        case nil: return
        }
    }
}
