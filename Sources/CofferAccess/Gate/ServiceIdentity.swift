import Foundation

/// Coffer's own background work (the health runner, the suite's maintenance, the lease reaper, the rotation
/// scheduler), acting under a name and a policy of its own instead of an anonymous open grant.
///
/// A service identity has no token, so it cannot be presented over HTTP; the Gate decides its requests with
/// its built-in policy exactly as it decides a token's (most specific rule, deny wins), and audits them
/// with `service:<name>` as accessor and display name. Its policy is fixed in the binary, compiled from
/// `Policies/services/<name>.hcl` (scripts/generate-service-policies.py), so what each service may touch is
/// read in one place and no stored policy (which a policy writer could change) widens it.
public struct ServiceIdentity: Sendable, Equatable {
    /// `health-runner`, `suite-maintenance`, `lease-reaper`, `rotation-scheduler`, `retention-pruner`.
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
    public static let healthRunner = builtIn("health-runner")

    /// Warms the feature cache, writes Coffer's own metrics and errors, tidies the suite's tables.
    public static let suiteMaintenance = builtIn("suite-maintenance")

    /// Revokes expired leases.
    public static let leaseReaper = builtIn("lease-reaper")

    /// Runs the rotations that are due (the service's own `make rotate`).
    public static let rotationScheduler = builtIn("rotation-scheduler")

    /// Deletes what is older than the retention settings.
    public static let retentionPruner = builtIn("retention-pruner")

    /// The identity whose policy is `Policies/services/<name>.hcl`, compiled in (``policyTexts``, generated from
    /// the files by `make generate`; a missing file is an empty policy, which allows nothing, and fails the test
    /// that every identity has its file).
    private static func builtIn(_ name: String) -> ServiceIdentity {
        ServiceIdentity(name: name, policyText: policyTexts[name] ?? "")
    }

    /// Every service identity.
    public static let all: [ServiceIdentity] = [.healthRunner, .suiteMaintenance, .leaseReaper, .rotationScheduler, .retentionPruner]
}
