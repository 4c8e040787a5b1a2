public import Foundation
import Synchronization

/// A `coffer` child process for end-to-end tests: started with arguments and environment, its standard
/// error collected line by line.
public final class CofferProcess: Sendable {
    private let process: Process
    private let stderrText = Mutex("")
    private let stdoutData = Mutex(Data())

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
        stderr.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard !data.isEmpty else { handle.readabilityHandler = nil; return }
            self?.stderrText.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        stdout.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard !data.isEmpty else { handle.readabilityHandler = nil; return }
            self?.stdoutData.withLock { $0.append(data) }
        }
        try process.run()
        if let input, let stdin {
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        }
    }

    /// Standard error so far, one entry a line.
    public var stderrLines: [String] {
        stderrText.withLock { $0.split(separator: "\n").map(String.init) }
    }

    /// Standard output so far.
    public var stdout: String { stdoutData.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Waits until a line of standard error contains `text`; returns the line.
    public func waitForLine(containing text: String, timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stderrLines.first(where: { $0.contains(text) }) { return line }
            if !process.isRunning {
                throw TestSetupError("coffer exited (\(process.terminationStatus)) before printing \"\(text)\":\n" + stderrLines.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("coffer did not print \"\(text)\" in time:\n" + stderrLines.joined(separator: "\n"))
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
        // Let the pipe handlers drain.
        try await Task.sleep(for: .milliseconds(100))
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}
