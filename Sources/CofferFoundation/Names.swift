/// The names the suite's modules accept (models, aliases, feature sets, features, entities, cache
/// namespaces): checked once here, with errors that say what a valid one looks like.
public enum Names {
    /// Letters, digits, `.`, `_`, `-`, starting with a letter or digit, 1–128 characters: safe in a URL
    /// segment, a file name and a policy path.
    /// - Throws: ``SuiteError`` `.invalid` saying what a valid name looks like.
    public static func check(_ name: String, what: String, maxLength: Int = 128) throws {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength, isWordStart(bytes[0]),
            bytes.allSatisfy({ isWordStart($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            throw SuiteError(
                .invalid, "\(what) must be 1 to \(maxLength) letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }

    private static func isWordStart(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
