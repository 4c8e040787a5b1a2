import Foundation

/// Coffer's own background work (the health runner, the suite's maintenance, the lease reaper), acting
/// under a name and a policy of its own instead of an anonymous open grant.
///
/// A service identity has no token, so it cannot be presented over HTTP; the Gate decides its requests with
/// its built-in policy exactly as it decides a token's (most specific rule, deny wins), and audits them
/// with `service:<name>` as accessor and display name. Its policy is fixed in the binary and kept equal to
/// `Policies/services/<name>.hcl` by a test, so what each service may touch is read in one place and no
/// stored policy (which a policy writer could change) widens it.
public struct ServiceIdentity: Sendable, Equatable {
    /// `health-runner`, `suite-maintenance`, `lease-reaper`.
    public let name: String
    /// The policy's HCL text.
    public let policyText: String
    let acl: ACL

    init(name: String, policyText: String) {
        self.name = name
        self.policyText = policyText
        acl = ACL(fixed: "service-" + name, text: policyText)
    }

    /// Whether this identity's policy allows `capability` on `path` (to refuse, when something is defined, what
    /// the service could never do when it runs).
    public func allows(_ capability: Capabilities, on path: String) -> Bool {
        acl.check(capability, on: path).allowed
    }

    /// The accessor and display name its audit entries carry.
    public var auditName: String { "service:" + name }

    public static func == (lhs: ServiceIdentity, rhs: ServiceIdentity) -> Bool { lhs.name == rhs.name }

    /// Runs the health checks that are due, records their results, evaluates the alert rules.
    public static let healthRunner = ServiceIdentity(
        name: "health-runner",
        policyText: """
            # service health-runner: Coffer's own health checker and alert evaluator. It reads the checks that are
            # due, records their results, keeps the built-in coffer check, evaluates the alert rules, and reads the
            # credentials of postgres checks, which live under secret/health-checks/ and nowhere else.
            path "coffer/health/checks" {
              capabilities = ["read", "create", "update"]
            }

            path "coffer/health/results" {
              capabilities = ["create", "update"]
            }

            path "coffer/health/alerts/evaluate" {
              capabilities = ["create", "update"]
            }

            path "secret/data/health-checks/*" {
              capabilities = ["read"]
            }

            """)

    /// Warms the feature cache, writes Coffer's own metrics and errors, tidies the suite's tables.
    public static let suiteMaintenance = ServiceIdentity(
        name: "suite-maintenance",
        policyText: """
            # service suite-maintenance: the persistence suite's housekeeping. It warms the feature cache, writes
            # Coffer's own metrics and error events, and tidies expired cache entries, old features and metrics.
            path "coffer/cache/warm-up" {
              capabilities = ["read"]
            }

            path "coffer/metrics/points" {
              capabilities = ["create", "update"]
            }

            path "coffer/errors/events" {
              capabilities = ["create", "update"]
            }

            path "coffer/cache/tidy" {
              capabilities = ["delete"]
            }

            path "coffer/features/tidy" {
              capabilities = ["delete"]
            }

            path "coffer/metrics/tidy" {
              capabilities = ["delete"]
            }

            """)

    /// Revokes expired leases.
    public static let leaseReaper = ServiceIdentity(
        name: "lease-reaper",
        policyText: """
            # service lease-reaper: revokes expired leases, in batches.
            path "sys/leases/tidy" {
              capabilities = ["delete"]
            }

            """)

    /// Every service identity.
    public static let all: [ServiceIdentity] = [.healthRunner, .suiteMaintenance, .leaseReaper]
}
