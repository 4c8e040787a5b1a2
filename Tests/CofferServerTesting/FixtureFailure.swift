/// A fixture's precondition that did not hold (a setup call refused, an answer without the field a helper
/// returns). The fixtures throw it rather than record an expectation, so they build outside a test target; a
/// test that calls one fails with this description.
package struct FixtureFailure: Error, CustomStringConvertible {
    package let description: String

    package init(_ description: String) { self.description = description }
}

/// `value`, or a ``FixtureFailure`` saying what was missing.
package func required<T>(_ value: T?, _ what: @autoclosure () -> String) throws -> T {
    guard let value else { throw FixtureFailure("missing: \(what())") }
    return value
}
