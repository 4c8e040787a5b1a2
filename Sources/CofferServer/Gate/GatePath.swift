import HTTPTypes

/// The request path as the Gate and the policies see it: without `/v1/`, `//` folded to `/` (as hvac
/// does before sending), and refused when it could mean two things.
enum GatePath {
    /// `path` (the raw request path, still percent-encoded) as a policy path such as `secret/data/app`.
    /// - Throws: ``APIError`` 400 for `.` or `..` segments, an encoded slash, backslash, dot or NUL, control
    ///   characters, or a path longer than 1024 bytes; nothing is looked up or stored for such a request.
    static func normalise(_ path: String) throws -> String {
        let bytes = Array(path.utf8)
        guard bytes.count <= 1024 else { throw APIError(.badRequest, "the request path is longer than 1024 bytes") }
        // One pass: reject what is ambiguous, and cut the path into segments.
        var segments: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index <= bytes.count {
            let byte = index < bytes.count ? bytes[index] : UInt8(ascii: "/")
            if byte < 0x20 || byte == 0x7f || byte == UInt8(ascii: "\\") {
                throw APIError(.badRequest, "the request path holds a control character or a backslash")
            }
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count {
                let code = (hexValue(bytes[index + 1]) ?? 0xff, hexValue(bytes[index + 2]) ?? 0xff)
                if [(0x2, 0xf), (0x5, 0xc), (0x0, 0x0), (0x2, 0xe)].contains(where: { $0 == code }) {
                    throw APIError(.badRequest, "the request path holds an encoded '/', '\\', '.' or NUL; send path segments unencoded")
                }
            }
            if byte == UInt8(ascii: "/") {
                let segment = bytes[start..<index]
                if segment.elementsEqual([UInt8(ascii: ".")]) || segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                    throw APIError(.badRequest, "the request path holds a '.' or '..' segment; Coffer paths are literal")
                }
                if !segment.isEmpty { segments.append(segment) }
                start = index + 1
            }
            index += 1
        }
        if segments.first?.elementsEqual("v1".utf8) == true { segments.removeFirst() }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        for (position, segment) in segments.enumerated() {
            if position > 0 { out.append(UInt8(ascii: "/")) }
            out += segment
        }
        if bytes.last == UInt8(ascii: "/") && !segments.isEmpty { out.append(UInt8(ascii: "/")) }
        return String(decoding: out, as: UTF8.self)
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
