/// Random strings over an alphabet, each holding at least one character of every required class: API keys,
/// shared secrets and database passwords. Characters are uniform (libsodium's `randombytes_uniform`, no
/// modulo bias); a draw missing a required class is drawn again (with a sensible alphabet and length, almost
/// always the first draw).
public struct PasswordGenerator: Sendable {
    /// A class of ASCII characters a value may be required to hold.
    public enum CharacterClass: String, CaseIterable, Sendable {
        case lower, upper, digit, symbol

        /// Whether `character` is of this class.
        public func contains(_ character: Character) -> Bool {
            switch self {
            case .lower: character.isASCII && character.isLowercase
            case .upper: character.isASCII && character.isUppercase
            case .digit: character.isASCII && character.isNumber
            case .symbol: character.isASCII && !character.isLetter && !character.isNumber && !character.isWhitespace
            }
        }
    }

    /// The named alphabets (`rotation_settings.alphabet`).
    public static let alphabets: [String: String] = [
        "alphanumeric": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "hex": "0123456789abcdef",
        "base64url": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        "printable": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~"
    ]

    /// Letters and digits with at least one of each case and a digit: no quoting surprises in connection
    /// strings or shells, and accepted by the usual password rules.
    public static func alphanumeric(length: Int) -> PasswordGenerator {
        PasswordGenerator(length: length, alphabet: Array(alphabets["alphanumeric"] ?? ""), required: [.lower, .upper, .digit])
    }

    /// Characters in each value.
    public let length: Int
    /// The characters values are drawn from, each equally likely.
    public let alphabet: [Character]
    /// Classes every value holds at least one character of.
    public let required: [CharacterClass]

    /// - Precondition: `alphabet` has at least two characters and holds a character of every required class,
    ///   and `length` is at least the number of required classes (callers check settings before, with messages).
    public init(length: Int, alphabet: [Character], required: [CharacterClass]) {
        precondition(alphabet.count >= 2 && length >= required.count && required.allSatisfy { alphabet.contains(where: $0.contains) })
        self.length = length
        self.alphabet = alphabet
        self.required = required
    }

    /// A new value.
    public func generate() -> String {
        while true {
            let characters = (0..<length).map { _ in alphabet[Int(Random.uniform(UInt32(alphabet.count)))] }
            if required.allSatisfy({ needed in characters.contains(where: needed.contains) }) { return String(characters) }
        }
    }

    /// Whether `value` is one this generator could have made.
    public func accepts(_ value: String) -> Bool {
        value.count == length && value.allSatisfy(alphabet.contains) && required.allSatisfy { value.contains(where: $0.contains) }
    }
}
