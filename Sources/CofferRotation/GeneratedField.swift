import CofferCrypto
import CofferFoundation

/// The value a rotator makes: which field of the credential it replaces and how (settings `field`, default
/// `value`; `length`; `alphabet`: `alphanumeric` default, `hex`, `base64url`, `printable`, or the characters;
/// `require`: classes each value holds at least one of, `lower`, `upper`, `digit`, `symbol`). Shared by the
/// rotators that generate the new value themselves (`random`, `webhook`, `command`).
struct GeneratedField: Sendable {
    let field: String
    let generator: PasswordGenerator

    /// Reads the four settings from a rotator's settings object (other keys are the rotator's to check).
    /// - Throws: ``RotationError`` `.invalidSettings` naming the setting.
    init(_ object: [String: JSONValue], defaultLength: Int) throws {
        switch object["field"] {
        case nil: field = "value"
        case .string(let name) where !name.isEmpty: field = name
        default: throw RotationError.invalidSettings("field must be the name of the field to rotate, such as \"api_key\"")
        }
        let length: Int
        switch object["length"] {
        case nil: length = defaultLength
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

    /// `current` with the field replaced by a new value.
    func replacing(in current: JSONValue, step: RotationStep = .create) throws -> JSONValue {
        guard case .object(var object) = current else {
            throw RotationError.stepFailed(step: step, reason: "the current data is not a JSON object")
        }
        object[field] = .string(generator.generate())
        return .object(object)
    }

    /// The field's string value in `data`.
    func value(in data: JSONValue, step: RotationStep) throws -> String {
        guard case .object(let object) = data, case .string(let value) = object[field] else {
            throw RotationError.stepFailed(step: step, reason: "the data has no string field \(field)")
        }
        return value
    }
}
