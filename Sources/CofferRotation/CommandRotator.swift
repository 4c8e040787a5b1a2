import CofferCrypto
import CofferEngines
public import CofferFoundation
import Foundation

/// `command`: a key whose system is changed by a program the operator provides (a vendor's CLI wrapped in a
/// script). create makes the new value (as `random` does, in `field`); set runs `<program> set`, test runs
/// `<program> test`, each with a JSON object on standard input: `{"action", "field", "pending", "current"}`
/// (test has no `current`). Values never go in arguments or the environment (both are visible to other users
/// in `/proc`); the program gets `PATH=/usr/bin:/bin` and nothing else. Exit status 0 is success; its output is
/// discarded (it may echo a value), so a failure says the status, and the program logs its own reasons.
///
/// Settings: `command` (a file name in the operator's `rotation_command_dir`, which must be set: a caller who
/// may write a credential's metadata must not be able to run any program as the service), `timeout` (seconds,
/// 1–300, default 30; the program is killed after it), and `field`, `length`, `alphabet`, `require` as for
/// `random`. set must be idempotent, as for every rotator: a resumed run may call it again with the same value.
public struct CommandRotator: Rotator {
    public static let kind = "command"

    let program: String
    let timeout: Duration
    let value: GeneratedField

    public init(settings: JSONValue, limits: RotatorLimits) throws {
        guard case .object(let object) = settings else { throw RotationError.invalidSettings("rotation_settings must be a JSON object") }
        let known: Set<String> = ["command", "timeout", "field", "length", "alphabet", "require"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw RotationError.invalidSettings(
                "the command rotator has no setting \"\(unknown)\"; it takes \(known.sorted().joined(separator: ", "))")
        }
        guard let folder = limits.commandDirectory else {
            throw RotationError.invalidSettings(
                "command rotation is off on this service: the operator names the folder of programs it may run in rotation_command_dir")
        }
        guard case .string(let name)? = object["command"], !name.isEmpty, name != ".", name != "..", !name.contains("/"),
            !name.contains("\0")
        else {
            throw RotationError.invalidSettings(
                "command must be the file name of a program in rotation_command_dir, such as rotate-exchange-key")
        }
        let path = (folder as NSString).appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw RotationError.invalidSettings("rotation_command_dir has no executable program named \(name)")
        }
        program = path
        switch object["timeout"] {
        case nil: timeout = .seconds(30)
        case .integer(let seconds)? where (1...300).contains(seconds): timeout = .seconds(seconds)
        default: throw RotationError.invalidSettings("timeout must be seconds from 1 to 300")
        }
        value = try GeneratedField(object, defaultLength: 40)
    }

    public func create(from current: JSONValue) throws -> JSONValue {
        try value.replacing(in: current)
    }

    public func set(pending: JSONValue, current: JSONValue, context: RotationContext) async throws {
        var input: [String: JSONValue] = [
            "action": .string("set"), "field": .string(value.field), "pending": .string(try value.value(in: pending, step: .set))
        ]
        input["current"] = (try? value.value(in: current, step: .set)).map(JSONValue.string) ?? .null
        try await run(.set, input: .object(input))
    }

    public func test(pending: JSONValue, context: RotationContext) async throws {
        try await run(
            .test,
            input: .object([
                "action": .string("test"), "field": .string(value.field), "pending": .string(try value.value(in: pending, step: .test))
            ]))
    }

    /// Runs the program with `input` on standard input; returns when it exits 0.
    private func run(_ step: RotationStep, input: JSONValue) async throws {
        var bytes = try input.encoded()
        defer { bytes.withUnsafeMutableBytes { Wipe.raw($0) } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = [step.rawValue]
        process.environment = ["PATH": "/usr/bin:/bin"]
        process.currentDirectoryURL = URL(fileURLWithPath: (program as NSString).deletingLastPathComponent)
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus) }
        do {
            try process.run()
        } catch {
            throw RotationError.stepFailed(step: step, reason: "cannot run \((program as NSString).lastPathComponent): \(error)")
        }
        // A program that exits without reading its input must not fail the write with SIGPIPE (ignored
        // process-wide by NIO); the status decides.
        try? stdin.fileHandleForWriting.write(contentsOf: bytes)
        try? stdin.fileHandleForWriting.close()
        let timeout = timeout
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                var iterator = exited.stream.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        let name = (program as NSString).lastPathComponent
        guard let status else {
            process.terminate()
            try? await Task.sleep(for: .seconds(1))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            throw RotationError.stepFailed(step: step, reason: "\(name) \(step.rawValue) did not exit within \(timeout) and was stopped")
        }
        guard status == 0 else {
            throw RotationError.stepFailed(step: step, reason: "\(name) \(step.rawValue) exited with status \(status)")
        }
    }
}
