public import CofferHTTP
import Hummingbird

/// The `sys/` routes that need no token.
public struct SysRoutes: Sendable {
    let health: HealthCheck

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(health: HealthCheck) {
        self.health = health
    }

    /// Adds `GET|HEAD /v1/sys/health` to `router`: probes, answered without a token and not audited, so that
    /// they report a failing audit trail instead of failing with it.
    public func register(on router: GatedRouter) {
        let health = health
        router.probe("/v1/sys/health", method: .get) { request, _ -> Response in
            let codes = try HealthCheck.Codes(
                query: Dictionary(
                    request.uri.queryParameters.map { (String($0.key), String($0.value)) },
                    uniquingKeysWith: { first, _ in first }))
            let (status, report) = await health.report(codes: codes)
            return VaultJSON.response(status: status, report)
        }
        router.probe("/v1/sys/health", method: .head) { request, _ -> Response in
            let codes = try HealthCheck.Codes(
                query: Dictionary(
                    request.uri.queryParameters.map { (String($0.key), String($0.value)) },
                    uniquingKeysWith: { first, _ in first }))
            let (status, _) = await health.report(codes: codes)
            return Response(status: status)
        }
        // Vault's HA leader, which `vault status` asks for. Instances sharing one PostgreSQL all serve
        // (none stands by and none forwards), so there is no HA leader to name: Vault's answer without HA.
        router.open("/v1/sys/leader", method: .get) { _, _, _ in
            VaultJSON.response(status: .ok, Leader())
        }
    }

    /// What OpenBao answers when HA is off: only that.
    struct Leader: Encodable {
        let ha_enabled = false
    }
}
