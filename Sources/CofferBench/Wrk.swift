import ArgumentParser
import Foundation

/// Runs `wrk` (Debian's package) against a URL with a token, which reaches wrk through its environment and a
/// Lua script, never its arguments.
struct Wrk {
    struct Result {
        let rate: Double
        /// Milliseconds.
        let p50: Double
        let p99: Double
    }

    /// Requests/s and latency percentiles: one wrk thread, `connections` connections, `seconds` long.
    /// - Parameters:
    ///   - method, bodyFile, headers: for requests other than a plain GET (the body is read from the file once).
    /// - Throws: when wrk fails or the server answered errors under load.
    static func run(
        _ url: String, token: String, connections: Int, seconds: Int, method: String = "GET", bodyFile: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> Result {
        let script = NSTemporaryDirectory() + "coffer-bench-\(UUID().uuidString).lua"
        var lua = #"wrk.headers["X-Vault-Token"] = os.getenv("BENCH_TOKEN")"# + "\nwrk.method = \"\(method)\"\n"
        for (name, value) in headers { lua += "wrk.headers[\"\(name)\"] = \"\(value)\"\n" }
        if let bodyFile { lua += "local f = io.open(\"\(bodyFile)\", \"rb\")\nwrk.body = f:read(\"*a\")\nf:close()\n" }
        guard
            FileManager.default.createFile(
                atPath: script, contents: Data(lua.utf8),
                attributes: [.posixPermissions: 0o600])
        else { throw ValidationError("cannot write \(script)") }
        defer { try? FileManager.default.removeItem(atPath: script) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["wrk", "-t1", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", script, url]
        process.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "BENCH_TOKEN": token]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard process.terminationStatus == 0, let line = lines.first(where: { $0.hasPrefix("Requests/sec:") }),
            let rate = Double(line.dropFirst("Requests/sec:".count).trimmingCharacters(in: .whitespaces))
        else { throw ValidationError("wrk failed (install it: apt-get install wrk, or make deps): \(text)") }
        if text.contains("Non-2xx") { throw ValidationError("\(url) answered errors under load: \(text)") }
        func percentile(_ label: String) -> Double {
            guard let line = lines.first(where: { $0.hasPrefix(label) }), let value = line.split(separator: " ").last else { return .nan }
            return milliseconds(String(value))
        }
        return Result(rate: rate, p50: percentile("50%"), p99: percentile("99%"))
    }

    /// wrk's `123.45us`, `1.20ms`, `2.00s` in milliseconds.
    static func milliseconds(_ text: String) -> Double {
        for (suffix, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(suffix) {
            return (Double(text.dropLast(suffix.count)) ?? .nan) * scale
        }
        return .nan
    }
}
