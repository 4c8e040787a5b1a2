import HTTPTypes

/// The request path as the Gate and the policies see it: without `/v1/`, `//` folded to `/` (as hvac
/// does before sending), and refused when it could mean two things.
enum GatePath {
    /// `path` (the raw request path, still percent-encoded) as a policy path such as `secret/data/app`.
    /// - Throws: ``APIError`` 400 for `.` or `..` segments, an encoded slash, backslash or NUL, control
    ///   characters, or a path longer than 1024 bytes; nothing is looked up or stored for such a request.
    static func normalise(_ path: String) throws -> String {
        guard path.utf8.count <= 1024 else { throw APIError(.badRequest, "the request path is longer than 1024 bytes") }
        let lowered = path.lowercased()
        for encoded in ["%2f", "%5c", "%00", "%2e"] where lowered.contains(encoded) {
            throw APIError(.badRequest, "the request path holds an encoded '/', '\\', '.' or NUL (\(encoded.uppercased())); send path segments unencoded")
        }
        guard path.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7f && $0 != UInt8(ascii: "\\") }) else {
            throw APIError(.badRequest, "the request path holds a control character or a backslash")
        }
        var segments = path.split(separator: "/", omittingEmptySubsequences: true)
        if segments.first == "v1" { segments.removeFirst() }
        guard !segments.contains(where: { $0 == "." || $0 == ".." }) else {
            throw APIError(.badRequest, "the request path holds a '.' or '..' segment; Coffer paths are literal")
        }
        return segments.joined(separator: "/") + (path.hasSuffix("/") && !segments.isEmpty ? "/" : "")
    }
}
