import Foundation

/// Runs a program other than `coffer` (python with hvac, openssl, pg_dump) to its end, for tests.
public enum ExternalCommand {
    /// The exit status and everything it printed (standard output and error together).
    ///
    /// The output goes to a temporary file, not a pipe: a `coffer serve` another test spawns at the same
    /// moment can inherit the pipe's write end, and reading a pipe to its end would then wait for that
    /// server to exit (a whole test run hung on it once). A file is read after the program's own exit.
    /// - Throws: ``TestSetupError`` when the program cannot be started.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        in folder: String? = nil
    ) throws -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-command-\(UUID().uuidString).out").path
        guard FileManager.default.createFile(atPath: outputPath, contents: nil), let output = FileHandle(forWritingAtPath: outputPath)
        else { throw TestSetupError("cannot create \(outputPath) for the output of \(executable)") }
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch {
            try? output.close()
            throw TestSetupError("cannot run \(executable): \(error)")
        }
        try? output.close()
        process.waitUntilExit()
        let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
        return (process.terminationStatus, text)
    }
}
