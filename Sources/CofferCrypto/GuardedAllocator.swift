import CSodium
import Synchronization

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
    static let sizeClasses = [64, 256, 1024, 4096]
    static let regionBytes = 256 * 1024

    private struct State {
        var free: [[UnsafeMutableRawPointer]] = Array(repeating: [], count: sizeClasses.count)
    }

    // The slot pointers are only handed out under the lock and owned by one SecureBytes until released.
    private struct Pointers: @unchecked Sendable {
        var state = State()
    }

    private static let pool = Mutex(Pointers())

    /// The size class index for `count` bytes, or `nil` when it gets its own allocation.
    static func sizeClass(for count: Int) -> Int? {
        sizeClasses.firstIndex { count <= $0 }
    }

    /// Zeroed guarded memory for at least `count` bytes.
    static func allocate(_ count: Int) -> UnsafeMutableRawPointer {
        guard let index = sizeClass(for: count) else {
            guard let pointer = sodium_malloc(count) else {
                fatalError("sodium_malloc failed: cannot allocate guarded memory for key material")
            }
            sodium_memzero(pointer, count)
            return pointer
        }
        if let slot = pool.withLock({ $0.state.free[index].popLast() }) { return slot }
        // Carve a new region outside the lock; the slots beyond the first go to the free list.
        let slotBytes = sizeClasses[index]
        guard let region = sodium_malloc(regionBytes) else {
            fatalError("sodium_malloc failed: cannot allocate guarded memory for key material")
        }
        sodium_memzero(region, regionBytes)
        let slots = (0..<(regionBytes / slotBytes)).map { region + $0 * slotBytes }
        pool.withLock { $0.state.free[index].append(contentsOf: slots.dropFirst()) }
        return slots[0]
    }

    /// Zeroes and releases memory from ``allocate(_:)``.
    static func release(_ pointer: UnsafeMutableRawPointer, count: Int) {
        guard let index = sizeClass(for: count) else {
            sodium_memzero(pointer, count)
            sodium_free(pointer)
            return
        }
        sodium_memzero(pointer, sizeClasses[index])
        pool.withLock { $0.state.free[index].append(pointer) }
    }
}
