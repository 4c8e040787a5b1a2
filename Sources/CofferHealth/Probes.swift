public import CofferStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one check: an HTTP GET, a TCP connect, a PostgreSQL query or a command, within its timeout, on a
/// thread of its own (the probes block).
public enum Probes {
    /// What a postgres check logs in with (read for this run from its credentials secret, never kept), and
    /// the database it may not reach (Coffer's own; nil on SQLite).
    public struct PostgresLogin: Sendable {
        public let user: String
        public let password: String
        public let forbidden: PostgresProbe.DatabaseIdentity?

        public init(user: String, password: String, forbidden: PostgresProbe.DatabaseIdentity?) {
            self.user = user
            self.password = password
            self.forbidden = forbidden
        }
    }

    /// Runs `check`; a postgres check needs its `login`.
    public static func run(_ check: HealthCheckDefinition, login: PostgresLogin? = nil) async -> ProbeResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<ProbeResult, Never>) in
            Thread {
                let started = ContinuousClock.now
                var (result, details) = probe(check, login: login)
                let elapsed = ContinuousClock.now - started
                let latency = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                if result == .passing, let limit = check.warnLatencyMs, latency > limit {
                    result = .warning
                    details += String(format: " (%.0f ms, over %.0f ms)", latency, limit)
                }
                continuation.resume(returning: ProbeResult(result: result, latencyMs: latency, details: String(details.prefix(1000))))
            }.start()
        }
    }

    static func probe(_ check: HealthCheckDefinition, login: PostgresLogin?) -> (HealthStatus, String) {
        let timeout = check.timeoutSeconds
        switch check.type {
        case .tcp:
            do {
                let fd = try connect(host: check.host ?? "", port: check.port ?? 0, timeout: timeout)
                close(fd)
                return (.passing, "connected")
            } catch {
                return (.critical, "\(error)")
            }
        case .http:
            guard let url = URL(string: check.url ?? ""), let host = url.host else { return (.critical, "bad url") }
            do {
                let fd = try connect(host: host, port: url.port ?? 80, timeout: timeout)
                defer { close(fd) }
                var timeval = Glibc.timeval(tv_sec: timeout, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeval, socklen_t(MemoryLayout<Glibc.timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeval, socklen_t(MemoryLayout<Glibc.timeval>.size))
                let path = url.path.isEmpty ? "/" : url.path + (url.query.map { "?" + $0 } ?? "")
                let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: coffer-health\r\nConnection: close\r\n\r\n".utf8)
                guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
                    return (.critical, "could not send the request")
                }
                var buffer = [UInt8](repeating: 0, count: 512)
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { return (.critical, "no answer within \(timeout) s") }
                let line = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? ""
                let parts = line.split(separator: " ")
                guard parts.count >= 2, let status = Int(parts[1]) else { return (.critical, "not an HTTP answer") }
                let ok = check.expectStatus.map { $0 == status } ?? (200..<300).contains(status)
                return (ok ? .passing : .critical, "HTTP \(status)")
            } catch {
                return (.critical, "\(error)")
            }
        case .postgres:
            guard let login else { return (.critical, "no credentials were read for this check") }
            do {
                let rows = try PostgresProbe.run(
                    url: check.url ?? "", user: login.user, password: login.password, query: check.query ?? "SELECT 1",
                    timeoutSeconds: timeout, forbidden: login.forbidden)
                return (.passing, "query answered (\(rows) row\(rows == 1 ? "" : "s"))")
            } catch {
                return (.critical, "\(error)")
            }
        case .coffer:
            return (.critical, "the coffer check runs inside the service")
        case .command:
            let process = Process()
            process.executableURL = URL(fileURLWithPath: check.command?.first ?? "/bin/false")
            process.arguments = Array((check.command ?? []).dropFirst())
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            do { try process.run() } catch { return (.critical, "cannot run \(check.command?.first ?? ""): \(error)") }
            let deadline = Date().addingTimeInterval(Double(timeout))
            while process.isRunning, Date() < deadline { usleep(10_000) }
            if process.isRunning {
                process.terminate()
                return (.critical, "no exit within \(timeout) s")
            }
            let text = String(decoding: output.fileHandleForReading.availableData.prefix(500), as: UTF8.self).trimmingCharacters(
                in: .whitespacesAndNewlines)
            switch process.terminationStatus {
            case 0: return (.passing, text.isEmpty ? "exit 0" : text)
            case 1: return (.warning, text.isEmpty ? "exit 1" : text)
            default: return (.critical, text.isEmpty ? "exit \(process.terminationStatus)" : text)
            }
        }
    }

    struct ProbeError: Error, CustomStringConvertible {
        let description: String
    }

    /// A connected TCP socket, or an error within `timeout` seconds.
    static func connect(host: String, port: Int, timeout: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw ProbeError(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var address: UnsafeMutablePointer<addrinfo>? = first
        var lastError = "cannot connect to \(host):\(port)"
        while let current = address {
            let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            if fd >= 0 {
                let flags = fcntl(fd, F_GETFL, 0)
                _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
                let rc = Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen)
                if rc == 0 || errno == EINPROGRESS {
                    var poll = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if Glibc.poll(&poll, 1, Int32(timeout * 1000)) == 1 {
                        var error: Int32 = 0
                        var length = socklen_t(MemoryLayout<Int32>.size)
                        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                        if error == 0 {
                            _ = fcntl(fd, F_SETFL, flags)
                            return fd
                        }
                        lastError = "\(host):\(port): \(String(cString: strerror(error)))"
                    } else {
                        lastError = "\(host):\(port): no connection within \(timeout) s"
                    }
                }
                close(fd)
            }
            address = current.pointee.ai_next
        }
        throw ProbeError(description: lastError)
    }
}
