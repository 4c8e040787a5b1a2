import CofferCredentials
import CofferCrypto
public import CofferFoundation

/// `random`: a new random string in one field, for API keys and shared secrets that Coffer hands out and
/// nothing else checks. Settings: `field` (default `value`), `length` (default 32, 8…4096), `alphabet`
/// (`alphanumeric` default, `hex`, `base64url`, `printable`, or the characters themselves) and `require`
/// (classes each value holds at least one of: `lower`, `upper`, `digit`, `symbol`). Other fields are kept.
public struct RandomRotator: Rotator {
    public static let kind = "random"

    let field: String
    let length: Int
    let alphabet: [Character]
    let required: [CharacterClass]

    enum CharacterClass: String, CaseIterable {
        case lower, upper, digit, symbol

        func contains(_ character: Character) -> Bool {
            switch self {
            case .lower: character.isASCII && character.isLowercase
            case .upper: character.isASCII && character.isUppercase
            case .digit: character.isASCII && character.isNumber
            case .symbol: character.isASCII && !character.isLetter && !character.isNumber && !character.isWhitespace
            }
        }
    }

    static let alphabets: [String: String] = [
        "alphanumeric": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "hex": "0123456789abcdef",
        "base64url": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        "printable": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~"
    ]

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
        switch object["length"] {
        case nil: length = 32
        case .integer(let value) where (8...4096).contains(value): length = Int(value)
        default: throw RotationError.invalidSettings("length must be an integer from 8 to 4096")
        }
        switch object["alphabet"] {
        case nil: alphabet = Array(Self.alphabets["alphanumeric"]!)
        case .string(let name):
            let characters = Array(Self.alphabets[name] ?? name)
            guard characters.count >= 2, Set(characters).count == characters.count,
                characters.allSatisfy({ $0.isASCII && !$0.isWhitespace })
            else {
                throw RotationError.invalidSettings(
                    "alphabet must be alphanumeric, hex, base64url, printable, or at least two distinct printable ASCII characters")
            }
            alphabet = characters
        default: throw RotationError.invalidSettings("alphabet must be a string")
        }
        switch object["require"] {
        case nil: required = []
        case .array(let items):
            var classes: [CharacterClass] = []
            for item in items {
                guard case .string(let name) = item, let found = CharacterClass(rawValue: name) else {
                    throw RotationError.invalidSettings("require lists classes among lower, upper, digit, symbol")
                }
                classes.append(found)
            }
            required = classes
        default: throw RotationError.invalidSettings("require must be a list such as [\"lower\", \"digit\"]")
        }
        let alphabet = alphabet
        for needed in required where !alphabet.contains(where: needed.contains) {
            throw RotationError.invalidSettings("require asks for \(needed.rawValue) characters, which the alphabet does not have")
        }
        guard required.count <= length else { throw RotationError.invalidSettings("length is shorter than the classes it must hold") }
    }

    public func create(from current: JSONValue) throws -> JSONValue {
        guard case .object(var object) = current else {
            throw RotationError.stepFailed(step: .create, reason: "the current data is not a JSON object")
        }
        object[field] = .string(generate())
        return .object(object)
    }

    /// Nothing outside Coffer holds this value.
    public func set(pending: JSONValue, current: JSONValue, context: RotationContext) async throws {}

    /// Checks that the pending value is what the settings ask for.
    public func test(pending: JSONValue, context: RotationContext) async throws {
        guard case .object(let object) = pending, case .string(let value) = object[field] else {
            throw RotationError.stepFailed(step: .test, reason: "the pending data has no string field \(field)")
        }
        guard value.count == length, value.allSatisfy(alphabet.contains),
            required.allSatisfy({ needed in value.contains(where: needed.contains) })
        else {
            throw RotationError.stepFailed(step: .test, reason: "the pending \(field) does not match the rotator's settings")
        }
    }

    /// Uniform characters (libsodium's `randombytes_uniform`, no modulo bias); drawn again until every
    /// required class is present (with a sensible alphabet and length, almost always the first draw).
    func generate() -> String {
        while true {
            let characters = (0..<length).map { _ in alphabet[Int(Random.uniform(UInt32(alphabet.count)))] }
            if required.allSatisfy({ needed in characters.contains(where: needed.contains) }) { return String(characters) }
        }
    }
}
