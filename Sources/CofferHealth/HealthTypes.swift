public import CofferAccess
public import CofferFoundation
import CofferStore
public import Foundation

/// A check's state, worst last (maintenance is outside the order: it is not counted).
public enum HealthStatus: String, Sendable, Codable, CaseIterable {
    case passing, warning, critical, maintenance

    var severity: Int {
        switch self {
        case .maintenance: 0
        case .passing: 1
        case .warning: 2
        case .critical: 3
        }
    }
}

/// A check as defined in the checks file: what to probe, how often, and how many results in a row move it.
public struct HealthCheckDefinition: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case http, tcp, postgres, command
        /// The Coffer service itself: unsealed, its storage current, its audit trail committing (run in process).
        case coffer
    }

    public var name: String
    public var component: String
    public var type: Kind
    /// `http`: an `http://` URL; `postgres`: where to connect, `postgres://HOST[:PORT]/DATABASE[?sslmode=…]`
    /// (no user or password: those come from ``credentials``).
    public var url: String?
    /// `postgres`: the KV secret (`mount/path`, under `secret/health-checks/`) whose `username` and `password`
    /// the check logs in with. Whoever writes the check must be able to read it.
    public var credentials: String?
    /// `tcp`.
    public var host: String?
    public var port: Int?
    /// `postgres`: the query (default `SELECT 1`).
    public var query: String?
    /// `command`: program and arguments; exit 0 passing, 1 warning, anything else critical (Nagios' rule).
    public var command: [String]?
    /// `http`: the status that passes (default any 2xx).
    public var expectStatus: Int?
    /// Seconds between runs (default 30) and per run (default 5).
    public var interval: Int?
    public var timeout: Int?
    /// Failed runs in a row before the check is critical (default 3), passing runs before it passes again (default 2).
    public var failAfter: Int?
    public var passAfter: Int?
    /// A passing run slower than this is a warning.
    public var warnLatencyMs: Double?

    enum CodingKeys: String, CodingKey {
        case name, component, type, url, credentials, host, port, query, command, interval, timeout
        case expectStatus = "expect_status", failAfter = "fail_after", passAfter = "pass_after", warnLatencyMs = "warn_latency_ms"
    }

    /// ``credentials`` as a secret path, if it is one.
    public var credentialsPath: SecretPath? { credentials.flatMap { try? SecretPath(id: $0) } }

    public var intervalSeconds: Int { interval ?? 30 }
    public var timeoutSeconds: Int { timeout ?? 5 }
    public var failThreshold: Int { failAfter ?? 3 }
    public var passThreshold: Int { passAfter ?? 2 }

    /// Checks the definition whole.
    /// - Throws: ``SuiteError`` `.invalid` saying which field is wrong and what it should be.
    public func validate() throws {
        func bad(_ reason: String) -> SuiteError { SuiteError(.invalid, "health check \(name.isEmpty ? "(unnamed)" : name): \(reason)") }
        do { try Names.check(name, what: "name") } catch { throw bad("\(error)") }
        do { try Names.check(component, what: "component") } catch { throw bad("\(error)") }
        guard (1...86_400).contains(intervalSeconds) else { throw bad("interval must be 1 to 86400 seconds") }
        guard (1...300).contains(timeoutSeconds), timeoutSeconds <= intervalSeconds else {
            throw bad("timeout must be 1 to 300 seconds and no longer than the interval")
        }
        guard (1...100).contains(failThreshold), (1...100).contains(passThreshold) else {
            throw bad("fail_after and pass_after must be 1 to 100")
        }
        switch type {
        case .http:
            guard let url, let parsed = URL(string: url), parsed.scheme == "http", parsed.host != nil else {
                throw bad("an http check needs url: http://HOST[:PORT]/PATH (https is not probed yet: check its port with a tcp check)")
            }
        case .tcp:
            guard let host, !host.isEmpty, let port, (1...65_535).contains(port) else {
                throw bad("a tcp check needs host and port (1–65535)")
            }
        case .postgres:
            guard let url else { throw bad("a postgres check needs url: postgres://HOST[:PORT]/DATABASE") }
            do { _ = try PostgresProbe.parse(url: url) } catch { throw bad("\(error)") }
            guard credentialsPath != nil else {
                throw bad(
                    """
                    a postgres check needs credentials: the mount/path of a secret holding username and password, such as \
                    secret/health-checks/\(name)
                    """
                )
            }
            if let query, query.utf8.count > 4096 { throw bad("query must be at most 4096 bytes") }
        case .command:
            guard let command, let program = command.first, program.hasPrefix("/") else {
                throw bad("a command check needs command: [\"/absolute/program\", \"arg\", …]")
            }
        case .coffer:
            break
        }
    }

    public init(name: String, component: String, type: Kind) {
        self.name = name
        self.component = component
        self.type = type
    }
}

/// The checks file: `{"checks": [ … ]}`.
public struct HealthChecksFile: Sendable, Codable {
    public let checks: [HealthCheckDefinition]

    /// Parses and validates every check; names must be unique.
    /// - Throws: ``SuiteError`` `.invalid` naming the check or the JSON problem.
    public static func parse(_ data: Data) throws -> [HealthCheckDefinition] {
        let file = try JSONText.decodeFile(HealthChecksFile.self, data, what: "checks file")
        var seen = Set<String>()
        for check in file.checks {
            try check.validate()
            guard seen.insert(check.name).inserted else { throw SuiteError(.invalid, "the checks file names \(check.name) twice") }
        }
        return file.checks
    }
}

/// One run's outcome.
public struct ProbeResult: Sendable, Equatable {
    public let result: HealthStatus
    public let latencyMs: Double
    public let details: String

    public init(result: HealthStatus, latencyMs: Double, details: String) {
        self.result = result
        self.latencyMs = latencyMs
        self.details = details
    }
}

/// A check as the service sees it now.
public struct CheckState: Sendable, Equatable, Encodable {
    public let name: String
    public let component: String
    public let status: HealthStatus
    public let flapping: Bool
    public let changedAt: Date
    @EncodesNull public internal(set) var checkedAt: Date?
    @EncodesNull public internal(set) var latencyMs: Double?
    public let details: String

    enum CodingKeys: String, CodingKey {
        case name, component, status, flapping, changedAt = "since", checkedAt = "last_checked", latencyMs = "latency_ms", details
    }
}

/// One run of a check as stored in `system_health`: what the probe found (`result`) and the status the check
/// moved to after its thresholds (`status`).
public struct CheckResult: Sendable, Equatable, Encodable {
    public let checkedAt: Date
    public let result: HealthStatus
    public let status: HealthStatus
    public let latencyMs: Double
    public let details: String

    enum CodingKeys: String, CodingKey { case checkedAt = "time", result, status, latencyMs = "latency_ms", details }
}

/// Availability of a check over a window: the share of time it was up (passing or warning), not counting
/// maintenance windows or time the checker itself was not running.
public struct Availability: Sendable, Equatable {
    public let window: TimeInterval
    /// 0–100; nil when nothing was observed.
    public let percent: Double?
    public let observed: TimeInterval
    public let down: TimeInterval
}
