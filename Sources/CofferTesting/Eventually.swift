/// Asks `condition` every 100 ms until it holds or `timeout` has passed, and once more at the deadline; returns
/// whether it held. For what a service does on its own cadence (a scheduler's check, an alert evaluation),
/// never to let a due time or a TTL pass: tests move stored times instead (Docs/ARCHITECTURE.md, "Time").
public func eventually(within timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
