package import CofferFoundation

/// A prune or a purge: how many rows went.
package struct Removed: Decodable {
    package let removed: Int
}

extension JSONValue {
    /// The text, when the value is a string.
    package var string: String? {
        if case .string(let text) = self { text } else { nil }
    }

    /// A number, whichever way the wire wrote it (`7` decodes as an integer, `7.5` as a double).
    package var double: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }
}
