import CofferCrypto
import CofferEngines
public import CofferFoundation

/// `random`: a new random string in one field, for API keys and shared secrets that Coffer hands out and
/// nothing else checks. Settings: `field` (default `value`), `length` (default 32, 8…4096), `alphabet`
/// (`alphanumeric` default, `hex`, `base64url`, `printable`, or the characters themselves) and `require`
/// (classes each value holds at least one of: `lower`, `upper`, `digit`, `symbol`). Other fields are kept.
public struct RandomRotator: Rotator {
    public static let kind = "random"

    let field: String
    let generator: PasswordGenerator

    public init(settings: JSONValue) throws {
        guard case .object(let object) = settings else { throw RotationError.invalidSettings("rotation_settings must be a JSON object") }
        let known: Set<String> = ["field", "length", "alphabet", "require"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw RotationError.invalidSettings(
                "the random rotator has no setting \"\(unknown)\"; it takes field, length, alphabet, require")
        }
        switch object["field"] {
        case nil: field = "value"
        case .string(let name) where !name.isEmpty: field = name
        default: throw RotationError.invalidSettings("field must be the name of the field to rotate, such as \"api_key\"")
        }
        let length: Int
        switch object["length"] {
        case nil: length = 32
        case .integer(let value) where (8...4096).contains(value): length = Int(value)
        default: throw RotationError.invalidSettings("length must be an integer from 8 to 4096")
        }
        let alphabet: [Character]
        switch object["alphabet"] {
        case nil: alphabet = Array(PasswordGenerator.alphabets["alphanumeric"] ?? "")
        case .string(let name):
            let characters = Array(PasswordGenerator.alphabets[name] ?? name)
            guard characters.count >= 2, Set(characters).count == characters.count,
                characters.allSatisfy({ $0.isASCII && !$0.isWhitespace })
            else {
                throw RotationError.invalidSettings(
                    "alphabet must be alphanumeric, hex, base64url, printable, or at least two distinct printable ASCII characters")
            }
            alphabet = characters
        default: throw RotationError.invalidSettings("alphabet must be a string")
        }
        let required: [PasswordGenerator.CharacterClass]
        switch object["require"] {
        case nil: required = []
        case .array(let items):
            var classes: [PasswordGenerator.CharacterClass] = []
            for item in items {
                guard case .string(let name) = item, let found = PasswordGenerator.CharacterClass(rawValue: name) else {
                    throw RotationError.invalidSettings("require lists classes among lower, upper, digit, symbol")
                }
                classes.append(found)
            }
            required = classes
        default: throw RotationError.invalidSettings("require must be a list such as [\"lower\", \"digit\"]")
        }
        for needed in required where !alphabet.contains(where: needed.contains) {
            throw RotationError.invalidSettings("require asks for \(needed.rawValue) characters, which the alphabet does not have")
        }
        guard required.count <= length else { throw RotationError.invalidSettings("length is shorter than the classes it must hold") }
        generator = PasswordGenerator(length: length, alphabet: alphabet, required: required)
    }

    public func create(from current: JSONValue) throws -> JSONValue {
        guard case .object(var object) = current else {
            throw RotationError.stepFailed(step: .create, reason: "the current data is not a JSON object")
        }
        object[field] = .string(generator.generate())
        return .object(object)
    }

    /// Nothing outside Coffer holds this value.
    public func set(pending: JSONValue, current: JSONValue, context: RotationContext) async throws {}

    /// Checks that the pending value is what the settings ask for.
    public func test(pending: JSONValue, context: RotationContext) async throws {
        guard case .object(let object) = pending, case .string(let value) = object[field] else {
            throw RotationError.stepFailed(step: .test, reason: "the pending data has no string field \(field)")
        }
        guard generator.accepts(value) else {
            throw RotationError.stepFailed(step: .test, reason: "the pending \(field) does not match the rotator's settings")
        }
    }
}
