import CofferFoundation
public import Foundation

/// A `coffer` child process for end-to-end tests: started with arguments and environment, its standard
/// error collected line by line.
public final class CofferProcess: Sendable {
    private let process: Process
    private let stderrBuffer = OutputBuffer()
    private let stdoutBuffer = OutputBuffer()
    private let finished = DispatchGroup()

    /// The `coffer` binary built beside the test bundle (or `COFFER_BIN`).
    public static var binary: String {
        if let explicit = ProcessInfo.processInfo.environment["COFFER_BIN"], !explicit.isEmpty { return explicit }
        let testBundle = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        return testBundle.deletingLastPathComponent().appendingPathComponent("coffer").path
    }

    /// Starts `coffer ARGUMENTS` in `folder`, with only `environment` plus PATH and HOME, and `stdin` (if
    /// given) as its standard input.
    public init(_ arguments: [String], in folder: String, environment: [String: String] = [:], stdin: Data? = nil) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var env = environment
        let inherited = ProcessInfo.processInfo.environment
        env["PATH"] = inherited["PATH"]
        env["HOME"] = folder
        process.environment = env
        let stderr = Pipe(), stdout = Pipe()
        process.standardError = stderr
        process.standardOutput = stdout
        let input = stdin.map { _ in Pipe() }
        process.standardInput = input ?? FileHandle.nullDevice
        try process.run()
        // One plain thread per pipe, reading until the child closes it: Foundation's readabilityHandler on
        // Linux has crashed test processes when a handler removes itself at end of file.
        Self.drain(stderr.fileHandleForReading, into: stderrBuffer, finished: finished)
        Self.drain(stdout.fileHandleForReading, into: stdoutBuffer, finished: finished)
        if let input, let stdin {
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        }
    }

    /// Standard error so far, one entry a line.
    public var stderrLines: [String] {
        stderrBuffer.text.split(separator: "\n").map(String.init)
    }

    /// Standard output so far.
    public var stdout: String { stdoutBuffer.text }
    /// The process id (to read `/proc/<pid>/cmdline` and `environ`).
    public var pid: Int32 { process.processIdentifier }

    private static func drain(_ handle: FileHandle, into buffer: OutputBuffer, finished: DispatchGroup) {
        finished.enter()
        let thread = Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                buffer.append(data)
            }
            finished.leave()
        }
        thread.start()
    }

    /// Waits until a line of standard error contains `text`; returns the line.
    public func waitForLine(containing text: String, timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stderrLines.first(where: { $0.contains(text) }) { return line }
            if !process.isRunning {
                throw TestSetupError(
                    "coffer exited (\(process.terminationStatus)) before printing \"\(text)\":\n" + stderrLines.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("coffer did not print \"\(text)\" in time:\n" + stderrLines.joined(separator: "\n"))
    }

    /// Starts `coffer serve --listen 127.0.0.1:0 --log-format json` with `arguments` in `folder` and waits until it
    /// serves. Returns the process and the port it listens on.
    public static func serve(_ arguments: [String], in folder: String, environment: [String: String]) async throws -> (CofferProcess, Int) {
        let process = try CofferProcess(
            ["serve", "--listen", "127.0.0.1:0", "--log-format", "json"] + arguments, in: folder, environment: environment)
        let line = try await process.waitForLine(containing: "coffer is serving")
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
            let port = object["coffer.listen"]?.split(separator: ":").last.flatMap({ Int($0) })
        else {
            process.terminate()
            throw TestSetupError("coffer serve printed no port: \(line)")
        }
        return (process, port)
    }

    /// Runs a `coffer` command to its end: its exit status and what it printed (standard output, then error).
    public static func run(_ arguments: [String], in folder: String, environment: [String: String] = [:], stdin: Data? = nil) async throws
        -> (Int32, String)
    {
        let process = try CofferProcess(arguments, in: folder, environment: environment, stdin: stdin)
        let status = try await process.waitForExit()
        return (status, process.stdout + process.stderrLines.joined(separator: "\n"))
    }

    /// Sends `signal` (SIGHUP to reload TLS certificates, for instance).
    public func send(signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Sends SIGTERM, as a service manager does to stop the service.
    public func terminate() {
        kill(process.processIdentifier, SIGTERM)
    }

    /// Waits for the process to exit and returns its status.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw TestSetupError("coffer did not exit in time")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Everything the child wrote is read once both pipes reach end of file.
        while finished.wait(timeout: .now()) == .timedOut {
            guard ContinuousClock.now < deadline else { throw TestSetupError("coffer's output pipes did not close in time") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// Bytes read from a child's pipe, shared between its reader thread and the test.
final class OutputBuffer: Sendable {
    private let data = Locked(Data())

    func append(_ more: Data) { data.withLock { $0.append(more) } }

    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}
