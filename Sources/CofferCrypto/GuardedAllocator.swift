import CofferFoundation
import CSodium

/// Guarded memory for small secrets, carved from large `sodium_malloc` regions.
///
/// `sodium_malloc` gives each allocation its own guard pages and `mlock`: four to six system calls,
/// about 15 µs here, which is twenty times the cost of encrypting a 256-byte secret. Decrypted values
/// are made on every read, so small ones (up to 4 KiB) come from slots in 256 KiB regions instead:
/// each region is itself a `sodium_malloc` allocation (guard pages around it, locked in RAM, kept out
/// of core dumps), slots are zeroed with `sodium_memzero` when released, and regions are kept for reuse.
/// What is given up: guard pages between neighbouring slots; all access to slot memory goes through
/// bounds-checked buffers or libsodium calls with explicit lengths. Larger secrets get their own
/// `sodium_malloc` allocation.
///
/// One per process, like `malloc` itself: a secret may be released on any thread.
enum GuardedAllocator {
    static let regionBytes = 256 * 1024

    /// The size class for `count` bytes (its index and slot size), or `nil` when it gets its own allocation.
    @inline(__always)
    static func sizeClass(for count: Int) -> (index: Int, bytes: Int)? {
        switch count {
        case ...64: (0, 64)
        case ...256: (1, 256)
        case ...1024: (2, 1024)
        case ...4096: (3, 4096)
        default: nil
        }
    }

    /// Free slots of each size class as intrusive lists: a free slot's first word points at the next one.
    /// The word is zeroed again when the slot is handed out, so callers always get zeroed memory.
    private struct FreeLists: @unchecked Sendable {
        // @unchecked Sendable: the slot pointers are only touched under the lock, and each handed-out
        // slot is owned by one SecureBytes until released.
        var heads: (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) = (
            nil, nil, nil, nil
        )

        mutating func pop(_ index: Int) -> UnsafeMutableRawPointer? {
            withUnsafeMutableBytes(of: &heads) { raw in
                let heads = raw.bindMemory(to: UnsafeMutableRawPointer?.self)
                guard let slot = heads[index] else { return nil }
                heads[index] = slot.load(as: UnsafeMutableRawPointer?.self)
                return slot
            }
        }

        mutating func push(_ slot: UnsafeMutableRawPointer, _ index: Int) {
            withUnsafeMutableBytes(of: &heads) { raw in
                let heads = raw.bindMemory(to: UnsafeMutableRawPointer?.self)
                slot.storeBytes(of: heads[index], as: UnsafeMutableRawPointer?.self)
                heads[index] = slot
            }
        }
    }

    private static let pool = Locked(FreeLists())

    /// Zeroed guarded memory for at least `count` bytes.
    static func allocate(_ count: Int) -> UnsafeMutableRawPointer {
        guard let (index, slotBytes) = sizeClass(for: count) else {
            guard let pointer = sodium_malloc(count) else {
                fatalError("sodium_malloc failed: cannot allocate guarded memory for key material")
            }
            sodium_memzero(pointer, count)
            return pointer
        }
        if let slot = pool.withLock({ $0.pop(index) }) {
            slot.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
            return slot
        }
        // Carve a new region outside the lock; the slots beyond the first go to the free list.
        guard let region = sodium_malloc(regionBytes) else {
            fatalError("sodium_malloc failed: cannot allocate guarded memory for key material")
        }
        sodium_memzero(region, regionBytes)
        pool.withLock { lists in
            for offset in stride(from: regionBytes - slotBytes, to: 0, by: -slotBytes) { lists.push(region + offset, index) }
        }
        return region
    }

    /// Zeroes and releases memory from ``allocate(_:)``.
    static func release(_ pointer: UnsafeMutableRawPointer, count: Int) {
        guard let (index, slotBytes) = sizeClass(for: count) else {
            sodium_memzero(pointer, count)
            sodium_free(pointer)
            return
        }
        sodium_memzero(pointer, slotBytes)
        pool.withLock { $0.push(pointer, index) }
    }
}
