import CofferAccess
import CofferCrypto
import CofferEngines
import CofferFoundation
import CofferHTTP
import CofferHealth
import CofferKeys
import CofferStore
import CofferSystem
import Foundation
import Logging
import ServiceLifecycle

/// Runs the health checks that are due, once a second, all at once, and evaluates the alert rules every
/// `alertEvaluationInterval` seconds (`alert_evaluation_interval`, 10 by default); both through the Gate as the
/// service identity `health-runner` (Policies/services/health-runner.hcl).
struct HealthRunner: Service {
    let gate: Gate
    let monitor: HealthMonitor
    /// Where postgres checks' credentials are read from, at each run, as the runner.
    let credentials: CredentialStore
    let alerts: AlertEngine
    /// Seconds between evaluations of the alert rules; counted in the runner's one-second ticks.
    let alertEvaluationInterval: Int64
    /// The service's own readiness, for the built-in `coffer` check.
    let ready: @Sendable () async -> (Bool, String)
    let instance: String
    let logger: Logger

    func run() async throws {
        if await !gate.keys.status.sealed {
            do { try await perform("coffer/health/checks", .write) { grant in try await monitor.ensureSelfCheck(grant) } } catch {
                logger.warning("the built-in coffer health check could not be added", metadata: ["coffer.error": "\(error)"])
            }
        }
        // Coffer's own database, which no postgres check may reach (nil on SQLite; found once on PostgreSQL,
        // and until it is, postgres checks fail rather than run unchecked).
        var own: PostgresProbe.DatabaseIdentity?
        var seconds: Int64 = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            guard !Task.isShuttingDownGracefully, await !gate.keys.status.sealed else { continue }
            if own == nil, gate.database.dialect == .postgres { own = try? await gate.database.read { try PostgresProbe.identity(of: $0) } }
            do { try await tick(own: own) } catch { logger.warning("health checks could not run", metadata: ["coffer.error": "\(error)"]) }
            seconds += 1
            if seconds % alertEvaluationInterval == 0 {
                do {
                    _ = try await perform("coffer/health/alerts/evaluate", .write) { grant in try await alerts.evaluate(grant).count }
                } catch {
                    logger.warning("alert rules could not be evaluated", metadata: ["coffer.error": "\(error)"])
                }
            }
        }
    }

    func tick(own: PostgresProbe.DatabaseIdentity?) async throws {
        let due = try await perform("coffer/health/checks", .read) { grant in try await monitor.due(grant) }
        guard !due.isEmpty else { return }
        let results = await probe(due, own: own)
        _ = try await perform("coffer/health/results", .write) { grant in try await monitor.record(grant, results, instance: instance) }
    }

    /// Runs `checks` at once, each within its timeout; a postgres check with the credentials its secret holds now.
    func probe(_ checks: [HealthCheckDefinition], own: PostgresProbe.DatabaseIdentity?) async -> [(HealthCheckDefinition, ProbeResult)] {
        await withTaskGroup(of: (HealthCheckDefinition, ProbeResult).self) { group in
            for check in checks {
                if check.type == .coffer {
                    // Coffer's own health, from the same answer as the readiness probe.
                    group.addTask {
                        let started = ContinuousClock.now
                        let (isReady, reason) = await ready()
                        let elapsed = ContinuousClock.now - started
                        return (
                            check,
                            ProbeResult(
                                result: isReady ? .passing : .critical,
                                latencyMs: Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000,
                                details: isReady ? "unsealed, storage current, audit committing" : reason)
                        )
                    }
                } else if check.type == .postgres {
                    group.addTask {
                        do { return (check, await Probes.run(check, login: try await login(check, forbidden: own))) } catch {
                            return (check, ProbeResult(result: .critical, latencyMs: 0, details: "\(error)"))
                        }
                    }
                } else {
                    group.addTask { (check, await Probes.run(check)) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// A postgres check's username and password, read from its credentials secret through the Gate as the
    /// runner (audited; its policy reaches secret/health-checks/ only).
    private func login(_ check: HealthCheckDefinition, forbidden: PostgresProbe.DatabaseIdentity?) async throws -> Probes.PostgresLogin {
        guard let secret = check.credentialsPath else { throw SuiteError(.invalid, "health check \(check.name) names no credentials") }
        guard forbidden != nil || gate.database.dialect != .postgres else {
            throw SuiteError(.storage, "Coffer's own database is not identified yet, and a check may not reach it: not run")
        }
        let path = try CanonicalPath(validating: secret.requestPath("data"))
        return try await perform(path, .read) { grant in
            guard case .found(let version) = try await credentials.read(grant, secret),
                case .object(let fields)? = version.data.bytes.withUnsafeBytes({ JSONValue.parse($0) }),
                case .string(let user)? = fields["username"], case .string(let password)? = fields["password"]
            else {
                throw SuiteError(
                    .invalid, "the credentials \(secret.id) of health check \(check.name) need a current value with username and password")
            }
            return Probes.PostgresLogin(user: user, password: password, forbidden: forbidden)
        }
    }

    private func perform<R: Sendable>(_ path: CanonicalPath, _ operation: GateRequest.Operation, _ body: (Grant) async throws -> R)
        async throws -> R
    {
        try await gate.perform(.service(.healthRunner, path: path, operation: operation), status: { _ in 200 }, body)
    }
}
