import CSodium

/// Key material or decrypted data, held in libsodium's guarded memory and wiped when released.
///
/// The memory comes from `sodium_malloc` (through ``GuardedAllocator`` for small values): guard pages,
/// `mlock`ed where the OS allows (so it is not swapped out), excluded from core dumps (`MADV_DONTDUMP`,
/// libsodium does this for guarded allocations on Linux), and filled with zeros by `sodium_memzero`
/// when released. The type is
/// non-copyable, so there is exactly one owner and one wipe; it has no `description`, is not `Codable`,
/// and cannot be printed or logged by accident. Comparisons are constant-time.
///
/// ```swift
/// let key = SecureBytes.random(count: 32)
/// let box = try AEAD.seal(plaintext, key: key, associatedData: ad)
/// ```
public struct SecureBytes: ~Copyable, @unchecked Sendable {
    // @unchecked Sendable: the pointer is owned by this non-copyable value alone, so moving the value
    // between tasks moves the only reference to the memory.
    private let pointer: UnsafeMutableRawPointer
    /// Number of bytes.
    public let count: Int

    /// Zero-filled guarded memory of `count` bytes.
    public init(count: Int) {
        Sodium.ensureInitialised()
        precondition(count >= 0, "SecureBytes count must not be negative")
        // Never zero bytes: keep one so the pointer is always valid.
        self.pointer = GuardedAllocator.allocate(max(count, 1))
        self.count = count
    }

    /// `count` bytes from libsodium's CSPRNG.
    public static func random(count: Int) -> SecureBytes {
        var bytes = SecureBytes(count: count)
        bytes.withMutableBytePointer { randombytes_buf($0, count) }
        return bytes
    }

    /// Copies `bytes` into guarded memory. The caller should wipe its own copy (``Wipe/bytes(_:)``).
    public init(copying bytes: some Collection<UInt8>) {
        self.init(count: bytes.count)
        let target = pointer.assumingMemoryBound(to: UInt8.self)
        for (index, byte) in bytes.enumerated() { target[index] = byte }
    }

    deinit {
        GuardedAllocator.release(pointer, count: max(count, 1))
    }

    /// Reads the bytes. The buffer must not escape `body`.
    public func withUnsafeBytes<T: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Writes the bytes. The buffer must not escape `body`.
    public mutating func withUnsafeMutableBytes<T: ~Copyable, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> T) throws(E)
        -> T
    {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// The bytes as a typed, never-NULL pointer (libsodium's parameters are non-null).
    func withBytePointer<T>(_ body: (UnsafePointer<UInt8>) throws -> T) rethrows -> T {
        try body(UnsafePointer(pointer.assumingMemoryBound(to: UInt8.self)))
    }

    /// The bytes as a typed, never-NULL mutable pointer.
    mutating func withMutableBytePointer<T>(_ body: (UnsafeMutablePointer<UInt8>) throws -> T) rethrows -> T {
        try body(pointer.assumingMemoryBound(to: UInt8.self))
    }

    /// A guarded copy.
    public func copy() -> SecureBytes {
        var copy = SecureBytes(count: count)
        copy.withUnsafeMutableBytes { target in
            if count > 0 { target.baseAddress?.copyMemory(from: pointer, byteCount: count) }
        }
        return copy
    }

    /// Constant-time equality (`sodium_memcmp`); lengths are not secret.
    public func constantTimeEquals(_ other: borrowing SecureBytes) -> Bool {
        guard count == other.count else { return false }
        return other.withUnsafeBytes { sodium_memcmp(pointer, $0.baseAddress, count) == 0 }
    }

    /// Constant-time equality with plain bytes (for example a stored key-check value).
    public func constantTimeEquals(_ bytes: [UInt8]) -> Bool {
        ConstantTime.equals(self, bytes)
    }

    /// The bytes as a plain array: leaves guarded memory, so only for values that are about to be
    /// encrypted or sent, and the caller wipes the array (``Wipe/bytes(_:)``) when done.
    public func unprotectedCopy() -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// A shared reference to one ``SecureBytes``: for collections (arrays and dictionaries need copyable
/// elements) such as Shamir shares and the keyring's data keys. The bytes are wiped when the last
/// reference goes.
public final class SecureHandle: Sendable {
    public let bytes: SecureBytes

    public init(_ bytes: consuming SecureBytes) {
        self.bytes = bytes
    }
}

/// Wiping plain memory that held secret data.
public enum Wipe {
    /// Zeroes `bytes` with `sodium_memzero`, which the compiler cannot optimise away.
    public static func bytes(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
    }

    /// Zeroes raw memory (a `Data`'s or a buffer's bytes) that held secret data.
    public static func raw(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        sodium_memzero(base, buffer.count)
    }
}

/// Constant-time comparison for MACs, tokens, hashes and key-check values.
public enum ConstantTime {
    /// True when both have the same length and content; time depends on the length only.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in sodium_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }

    static func equals(_ a: borrowing SecureBytes, _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !b.isEmpty else { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in sodium_memcmp(x.baseAddress, y.baseAddress, b.count) == 0 } }
    }
}

/// A typed pointer to `buffer`, or to a zero byte when it is empty: libsodium's parameters are non-null
/// even where the length is zero.
func withNonNullBytes<T>(_ buffer: UnsafeRawBufferPointer, _ body: (UnsafePointer<UInt8>) throws -> T) rethrows -> T {
    if let base = buffer.baseAddress { return try body(base.assumingMemoryBound(to: UInt8.self)) }
    var zero: UInt8 = 0
    return try withUnsafePointer(to: &zero) { try body($0) }
}
