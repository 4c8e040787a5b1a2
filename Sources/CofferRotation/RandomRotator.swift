import CofferCrypto
import CofferEngines
public import CofferFoundation

/// `random`: a new random string in one field, for API keys and shared secrets that Coffer hands out and
/// nothing else checks. Settings: `field` (default `value`), `length` (default 32, 8…4096), `alphabet`
/// (`alphanumeric` default, `hex`, `base64url`, `printable`, or the characters themselves) and `require`
/// (classes each value holds at least one of: `lower`, `upper`, `digit`, `symbol`). Other fields are kept.
public struct RandomRotator: Rotator {
    public static let kind = "random"

    let value: GeneratedField

    public init(settings: JSONValue, limits: RotatorLimits) throws {
        guard case .object(let object) = settings else { throw RotationError.invalidSettings("rotation_settings must be a JSON object") }
        let known: Set<String> = ["field", "length", "alphabet", "require"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw RotationError.invalidSettings(
                "the random rotator has no setting \"\(unknown)\"; it takes field, length, alphabet, require")
        }
        value = try GeneratedField(object, defaultLength: 32)
    }

    public func create(from current: JSONValue) throws -> JSONValue {
        try value.replacing(in: current)
    }

    /// Nothing outside Coffer holds this value.
    public func set(pending: JSONValue, current: JSONValue, context: RotationContext) async throws {}

    /// Checks that the pending value is what the settings ask for.
    public func test(pending: JSONValue, context: RotationContext) async throws {
        guard value.generator.accepts(try value.value(in: pending, step: .test)) else {
            throw RotationError.stepFailed(step: .test, reason: "the pending \(value.field) does not match the rotator's settings")
        }
    }
}
