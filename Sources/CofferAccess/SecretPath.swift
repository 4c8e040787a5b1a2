import CofferFoundation

/// A secret's place: the engine's mount (`secret`) and the path inside it (`app/db`).
public struct SecretPath: Sendable, Hashable, CustomStringConvertible {
    public let mount: String
    public let path: String

    /// The longest path inside a mount, in bytes.
    public static let maximumLength = 512

    /// - Throws: ``AccessError`` `.invalidRequest` for an empty path, `.` or `..` or empty segments, control
    ///   characters, or more than ``maximumLength`` bytes.
    public init(mount: String, path: String) throws {
        try Self.validate(path, folder: false)
        self.mount = mount
        self.path = path
    }

    /// Parses a secret's id, `mount/path` (as `make rotate SECRET=` and rotator settings name secrets);
    /// `nil` when there is no mount before a `/`.
    /// - Throws: as ``init(mount:path:)`` for a bad path.
    public init?(id: String) throws {
        guard let slash = id.firstIndex(of: "/"), slash != id.startIndex else { return nil }
        try self.init(mount: String(id[..<slash]), path: String(id[id.index(after: slash)...]))
    }

    /// The record id its versions are sealed under, and the row's key: `mount/path`.
    public var id: String { mount + "/" + path }

    public var description: String { id }

    /// The path a request names this secret by, and a policy matches: `mount/<kind>/path`, where kind is `data`,
    /// `metadata`, `subkeys`, `delete`, `undelete` or `destroy`.
    public func requestPath(_ kind: String) -> String { mount + "/" + kind + "/" + path }

    /// The path a request names this secret by on a KV version 1 engine, which has no kinds: `mount/path`.
    public var unversionedRequestPath: String { id }

    /// Checks a path inside a mount; a `folder` (a LIST prefix) may be empty and may end in `/`.
    public static func validate(_ path: String, folder: Bool) throws {
        let bytes = Array(path.utf8)
        guard bytes.count <= maximumLength else {
            throw AccessError(.invalidRequest, "the secret path is longer than \(maximumLength) bytes")
        }
        if !folder && (bytes.isEmpty || bytes.last == UInt8(ascii: "/")) {
            throw AccessError(.invalidRequest, "a secret path is needed, such as app/db (without a trailing '/')")
        }
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
            throw AccessError(.invalidRequest, "the secret path holds a control character")
        }
        var segments = path.split(separator: "/", omittingEmptySubsequences: false)
        if folder, segments.last == "" { segments.removeLast() }
        if folder && segments == [""] { return }
        for segment in segments where segment.isEmpty || segment == "." || segment == ".." {
            throw AccessError(.invalidRequest, "the secret path has an empty, '.' or '..' segment; use plain names such as app/db")
        }
    }
}
