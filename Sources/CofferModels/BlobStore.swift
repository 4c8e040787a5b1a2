public import CofferFoundation
import CofferAccess
import CofferCrypto
public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Model artifacts on disk, by content: `<root>/sha256/<2 hex>/<64 hex>`. Uploads stream into
/// `<root>/incoming/` while they are hashed, and move into place by `rename` once complete, so a
/// blob's name is always its digest. Reads are checked against the digest before and while they stream.
///
/// Several instances on one PostgreSQL share the registry's rows, so their `root` must be one shared
/// folder (a network file system), as MLflow's artifact store is.
public final class BlobStore: Sendable {
    public let root: String
    /// Bytes per read or write.
    static let chunkSize = 256 * 1024

    /// Creates the folder layout when missing.
    /// - Throws: ``ModelError`` when `root` cannot be created or written.
    public init(root: String) throws {
        self.root = root
        for folder in [root, root + "/sha256", root + "/incoming"] {
            do {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ModelError.storage("cannot create the artifact folder \(folder): check --artifact-path and its permissions")
            }
        }
    }

    /// A new upload into `incoming/`.
    public func upload() throws -> BlobUpload {
        let path = "\(root)/incoming/\(UUID().uuidString)"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ModelError.storage("cannot create an upload file in \(root)/incoming: \(String(cString: strerror(errno)))")
        }
        return BlobUpload(fd: fd, path: path)
    }

    /// The path of the blob `digest` (64 lowercase hex digits).
    func path(of digest: String) -> String {
        "\(root)/sha256/\(digest.prefix(2))/\(digest)"
    }

    /// Whether the blob is present.
    public func contains(_ digest: String) -> Bool {
        FileManager.default.fileExists(atPath: path(of: digest))
    }

    /// Moves a finished upload into place under its digest. When the blob is already there (the same
    /// bytes uploaded before), the upload is dropped.
    /// - Returns: whether this call created the blob (so a failed registration knows to remove it).
    @discardableResult
    public func commit(_ staged: StagedBlob) throws -> Bool {
        let target = path(of: staged.digest)
        if FileManager.default.fileExists(atPath: target) {
            // Fresh again, so garbage collection's grace covers the registration about to reference it.
            utimes(target, nil)
            unlink(staged.path)
            return false
        }
        let folder = (target as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard rename(staged.path, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(staged.path)
            throw ModelError.storage("cannot move an upload into the artifact store: \(reason)")
        }
        Self.syncFolder(folder)
        return true
    }

    /// Drops an upload that will not be registered.
    public func discard(_ staged: StagedBlob) {
        unlink(staged.path)
    }

    /// Removes the blob `digest` (garbage collection, or a registration that failed after its upload).
    public func remove(_ digest: String) {
        unlink(path(of: digest))
    }

    /// Opens the blob for reading after checking the whole file against `digest`.
    /// - Throws: ``ModelError`` `.missingArtifact` or `.integrity` (the bytes on disk are not the registered ones).
    public func open(_ digest: String, size: Int64) throws -> BlobReader {
        let path = path(of: digest)
        var hasher = SHA256()
        var total: Int64 = 0
        try Self.read(path) { bytes in
            hasher.update(bytes)
            total += Int64(bytes.count)
        }
        guard total == size, hasher.finalHex() == digest else { throw ModelError.integrity(digest) }
        return BlobReader(path: path, digest: digest)
    }

    /// Reads `path` in chunks.
    static func read(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw ModelError.missingArtifact((path as NSString).lastPathComponent) }
            throw ModelError.storage("cannot open an artifact: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw ModelError.storage("cannot read an artifact: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// Deletes blobs no row references, and uploads left in `incoming/`, older than `grace` (an upload
    /// or a registration in progress is younger).
    /// - Returns: how many files and bytes were removed.
    public func collectGarbage(referenced: Set<String>, grace: TimeInterval, now: Date = WallClock.now) -> (files: Int, bytes: Int64) {
        var files = 0, bytes: Int64 = 0
        let manager = FileManager.default
        func removeIfOld(_ path: String) {
            guard let attributes = try? manager.attributesOfItem(atPath: path),
                let modified = attributes[.modificationDate] as? Date, now.timeIntervalSince(modified) >= grace
            else { return }
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            if unlink(path) == 0 {
                files += 1
                bytes += size
            }
        }
        for folder in (try? manager.contentsOfDirectory(atPath: root + "/sha256")) ?? [] {
            for name in (try? manager.contentsOfDirectory(atPath: "\(root)/sha256/\(folder)")) ?? [] where !referenced.contains(name) {
                removeIfOld("\(root)/sha256/\(folder)/\(name)")
            }
        }
        for name in (try? manager.contentsOfDirectory(atPath: root + "/incoming")) ?? [] {
            removeIfOld("\(root)/incoming/\(name)")
        }
        return (files, bytes)
    }

    /// Makes a rename durable.
    static func syncFolder(_ folder: String) {
        let fd = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

/// An upload in progress: bytes are written and hashed as they arrive, never held whole.
/// Used by one task; ``finish()`` or ``abandon()`` ends it.
public final class BlobUpload {
    private var fd: Int32
    let path: String
    private var hasher = SHA256()
    public private(set) var size: Int64 = 0

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { abandon() }

    /// Appends `bytes`.
    /// - Throws: ``ModelError`` `.tooLarge` past `limit`, `.storage` when the disk refuses.
    public func write(_ bytes: UnsafeRawBufferPointer, limit: Int64 = .max) throws {
        guard fd >= 0 else { throw ModelError.storage("the upload was already finished") }
        size += Int64(bytes.count)
        guard size <= limit else { throw ModelError.tooLarge(limit) }
        hasher.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw ModelError.storage("cannot write the upload: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Flushes the file to disk and names its digest.
    public func finish() throws -> StagedBlob {
        guard fd >= 0 else { throw ModelError.storage("the upload was already finished") }
        let synced = fsync(fd) == 0
        close(fd)
        fd = -1
        guard synced else {
            unlink(path)
            throw ModelError.storage("cannot flush the upload to disk: \(String(cString: strerror(errno)))")
        }
        let digest = hasher.finalHex()
        return StagedBlob(path: path, digest: digest, size: size)
    }

    /// Drops the upload (a failed or refused one leaves nothing behind).
    public func abandon() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(path)
    }
}

/// A complete upload in `incoming/`, not yet in place.
public struct StagedBlob: Sendable {
    let path: String
    public let digest: String
    public let size: Int64
}

/// A verified blob, read in chunks; the bytes are hashed again as they go, so a file changed after the
/// check ends the read with ``ModelError/integrity(_:)``.
public struct BlobReader: Sendable {
    let path: String
    public let digest: String

    /// Calls `body` with each chunk, in order.
    public func forEachChunk(_ body: ([UInt8]) async throws -> Void) async throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ModelError.missingArtifact(digest) }
        defer { close(fd) }
        var hasher = SHA256()
        var chunk = [UInt8](repeating: 0, count: BlobStore.chunkSize)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ModelError.storage("cannot read an artifact: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            let piece = Array(chunk[0..<count])
            piece.withUnsafeBytes { hasher.update($0) }
            try await body(piece)
        }
        guard hasher.finalHex() == digest else { throw ModelError.integrity(digest) }
    }
}
