/// A request path in the one form the Gate decides on, the audit trail records, and modules and storage use:
/// percent-decoded exactly once, without `/v1/`, held as the UTF-8 bytes the client meant.
///
/// Every description of a request derives from this value, so a policy cannot be checked against one
/// spelling of a path while a module acts on another (`secret/data/app/%70rod-db` was once read as
/// `prod-db` past a deny rule). What could mean two things is refused, never repaired: an encoded `/`, `\`,
/// `.` or NUL, a `%` left after decoding (double encoding), `.` and `..` segments, empty segments,
/// control characters, `?` or `#` inside the path, and bytes that are not UTF-8. Nothing is normalised
/// (no case folding, no Unicode normal form): two paths are the same only when their bytes are.
///
/// ```swift
/// let (path, routing) = try CanonicalPath.decodeRequest(Array("/v1/secret/data/app/%C3%A9".utf8))
/// path.text    // "secret/data/app/é"
/// routing      // "/v1/secret/data/app/é"
/// ```
public struct CanonicalPath: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The decoded path, without `/v1/`: `secret/data/app/db`; a trailing `/` is kept (it marks a LIST folder).
    public let text: String

    /// The longest request path accepted, in bytes as sent.
    public static let maximumBytes = 1024

    /// Why a path was refused: what was wrong and what to send instead (the 400's message).
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }

        static let tooLong = Refusal("the request path is longer than \(maximumBytes) bytes")
        static let control = Refusal("the request path holds a control character; send printable text")
        static let backslash = Refusal("the request path holds a backslash; Coffer paths use '/' only")
        static let malformed = Refusal("the request path has a '%' not followed by two hex digits; encode '%' itself as %25")
        static let encodedSeparator = Refusal("the request path holds an encoded '/', '\\', '.' or NUL; send path segments unencoded")
        static let doubleEncoded = Refusal("the request path still holds a '%' after decoding (double encoding); encode each byte once")
        static let queryCharacter = Refusal("the request path holds a '?' or '#'; these cannot be part of a Coffer path")
        static let dotSegment = Refusal("the request path holds a '.' or '..' segment; Coffer paths are literal")
        static let emptySegment = Refusal("the request path has an empty segment ('//'); use plain names such as app/db")
        static let notUTF8 = Refusal("the request path is not valid UTF-8 once decoded")
        static let notAbsolute = Refusal("the request path must start with '/'")
        static let joinedSeparator = Refusal(
            "the request path has a '/' joined to a combining character (a segment starts with a mark such as U+0301, "
                + "or one ends with a prefix mark); start and end each segment with a base character")
    }

    /// Decodes a request target's path (as sent, percent-encoded, without the query).
    /// - Returns: the canonical path, and the decoded full path (`/v1/…`) to route on, so the router and its
    ///   parameters see the same bytes the Gate decided on.
    /// - Throws: ``Refusal`` for anything ambiguous (see the type's description); nothing is looked up for it.
    public static func decodeRequest(_ raw: some Collection<UInt8>) throws(Refusal) -> (path: CanonicalPath, routing: String) {
        guard raw.count <= maximumBytes else { throw .tooLong }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(raw.count)
        var iterator = raw.makeIterator()
        while let byte = iterator.next() {
            guard byte != UInt8(ascii: "%") else {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { throw .malformed }
                let value = high << 4 | low
                switch value {
                case UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "."), 0: throw .encodedSeparator
                case UInt8(ascii: "%"): throw .doubleEncoded
                default: break
                }
                try check(value)
                decoded.append(value)
                continue
            }
            try check(byte)
            decoded.append(byte)
        }
        guard decoded.first == UInt8(ascii: "/") else { throw .notAbsolute }
        let canonical = try canonicalBytes(decoded.dropFirst(), stripVersion: true)
        guard let routing = String(validating: decoded, as: UTF8.self), let text = String(validating: canonical, as: UTF8.self) else {
            throw .notUTF8
        }
        try requireStandaloneSeparators(routing)
        return (CanonicalPath(checked: text), routing)
    }

    /// A path Coffer itself names (a background service's, a test's), held to the same rules as a decoded request
    /// path: no `%`, no `.`/`..` or empty segments, no control characters.
    /// - Throws: ``Refusal``.
    public init(validating text: String) throws(Refusal) {
        for byte in text.utf8 {
            if byte == UInt8(ascii: "%") { throw .doubleEncoded }
            try Self.check(byte)
        }
        _ = try Self.canonicalBytes(Array(text.utf8)[...], stripVersion: false)
        try Self.requireStandaloneSeparators(text)
        self.text = text
    }

    /// A literal path in Coffer's own code; a literal that breaks the rules is a programming error.
    public init(stringLiteral value: String) {
        do { try self.init(validating: value) } catch { preconditionFailure("\(value): \(error)") }
    }

    private init(checked text: String) {
        self.text = text
    }

    public var description: String { text }

    /// Byte equality: canonically equivalent Unicode spellings are different paths, as they are different keys.
    public static func == (lhs: CanonicalPath, rhs: CanonicalPath) -> Bool { lhs.text.utf8.elementsEqual(rhs.text.utf8) }
    public func hash(into hasher: inout Hasher) { for byte in text.utf8 { hasher.combine(byte) } }

    /// The path's segments (a trailing `/` gives no empty last segment).
    public var segments: [Substring] {
        text.utf8.split(separator: UInt8(ascii: "/")).map { Substring(text[$0.startIndex..<$0.endIndex]) }
    }

    /// Whether the path is a folder (ends in `/`), as a LIST path is.
    public var isFolder: Bool { text.utf8.last == UInt8(ascii: "/") }

    /// The path without a trailing `/`: what every operation but a LIST acts on, since routes match a path with
    /// and without one alike (`sys/policies/acl/x/` is policy `x`), so the decision must be about `x` too.
    public var asLeaf: CanonicalPath { isFolder ? CanonicalPath(checked: String(text.dropLast())) : self }

    /// The path with `/` appended (a LIST's policy path, as Vault checks it), unless empty or already a folder.
    public var asFolder: CanonicalPath { text.isEmpty || isFolder ? self : CanonicalPath(checked: text + "/") }

    /// Refuses bytes that never belong in a path, whether sent plain or encoded.
    private static func check(_ byte: UInt8) throws(Refusal) {
        if byte < 0x20 || byte == 0x7f { throw .control }
        if byte == UInt8(ascii: "\\") { throw .backslash }
        if byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") { throw .queryCharacter }
    }

    /// Refuses a `/` that Unicode joins with its neighbour into one `Character` (a combining mark after it, a
    /// prefix mark before it): the Gate splits paths on the byte, but Swift's `String` splits on `Character`s, so
    /// `a/\u{301}b` would be two segments to the Gate and one to a router or module that splits the text. Found by
    /// the canonical-path fuzz target (Sources/CofferFuzzing). No ASCII character joins with `/` (only CR LF form
    /// a cluster), so an all-ASCII path, nearly every request, skips the walk over `Character`s: 141 ns instead of
    /// 925 ns for a 48-byte path (swiftc -O, this machine).
    private static func requireStandaloneSeparators(_ text: String) throws(Refusal) {
        if !text.utf8.contains(where: { $0 >= 0x80 }) { return }
        for character in text where character != "/" && character.unicodeScalars.contains("/") { throw .joinedSeparator }
    }

    /// The segments after the leading `/`, checked, with a leading `v1` segment removed when asked.
    private static func canonicalBytes(_ path: ArraySlice<UInt8>, stripVersion: Bool) throws(Refusal) -> [UInt8] {
        var segments = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let trailingSlash = segments.count > 1 && segments.last?.isEmpty == true
        if trailingSlash || segments.last?.isEmpty == true { segments.removeLast() }
        for segment in segments {
            if segment.isEmpty { throw .emptySegment }
            if segment.elementsEqual([UInt8(ascii: ".")]) || segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                throw .dotSegment
            }
        }
        if stripVersion, segments.first?.elementsEqual("v1".utf8) == true { segments.removeFirst() }
        var out: [UInt8] = []
        out.reserveCapacity(path.count)
        for (index, segment) in segments.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "/")) }
            out += segment
        }
        if trailingSlash && !segments.isEmpty { out.append(UInt8(ascii: "/")) }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
