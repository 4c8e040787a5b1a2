public import CofferCrypto
import Foundation
public import HTTPTypes
public import Hummingbird
@_spi(CustomByteBufferAllocator) import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Response bodies that carry decrypted secrets. Their bytes live in buffers whose memory is zeroed when
/// the last reference goes (after NIO has written them to the socket), instead of lingering in freed heap.
public enum SecretBody {
    /// A `ByteBuffer` allocator that wipes memory before freeing it, and wipes the old block when a buffer
    /// grows. Each block starts with a 16-byte header holding its size, so the wipe knows how much to clear.
    public static let allocator = ByteBufferAllocator(
        allocate: { size in WipingMemory.allocate(size) },
        reallocate: { pointer, _, newSize in
            // Never realloc in place: the old block would be freed unwiped.
            guard let fresh = WipingMemory.allocate(newSize) else { return nil }
            if let pointer {
                fresh.copyMemory(from: pointer, byteCount: min(WipingMemory.size(of: pointer), newSize))
                WipingMemory.free(pointer)
            }
            return fresh
        },
        deallocate: { pointer in WipingMemory.free(pointer) },
        copy: { destination, source, count in destination.copyMemory(from: source, byteCount: count) }
    )

    /// A JSON answer: `prefix`, the secret bytes, `suffix`, in one wiped-on-free buffer.
    public static func response(status: HTTPResponse.Status, prefix: String, secret: borrowing SecureBytes, suffix: String) -> Response {
        var buffer = allocator.buffer(capacity: prefix.utf8.count + secret.count + suffix.utf8.count)
        buffer.writeString(prefix)
        _ = secret.withUnsafeBytes { buffer.writeBytes($0) }
        buffer.writeString(suffix)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }

    /// Copies a response body (already collected) into guarded memory, e.g. to wrap it.
    public static func guarded(_ buffer: ByteBuffer) -> SecureBytes {
        var secure = SecureBytes(count: buffer.readableBytes)
        secure.withUnsafeMutableBytes { target in
            buffer.withUnsafeReadableBytes { source in
                if let base = source.baseAddress, source.count > 0 { target.baseAddress?.copyMemory(from: base, byteCount: source.count) }
            }
        }
        return secure
    }
}

/// malloc'd blocks with their size in a header, zeroed before they are freed.
public enum WipingMemory {
    public static let header = 16

    public static func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        guard let block = malloc(size + header) else { return nil }
        block.storeBytes(of: size, as: Int.self)
        return block + header
    }

    public static func size(of pointer: UnsafeMutableRawPointer) -> Int {
        (pointer - header).load(as: Int.self)
    }

    public static func free(_ pointer: UnsafeMutableRawPointer) {
        let block = pointer - header
        Wipe.raw(UnsafeMutableRawBufferPointer(start: pointer, count: size(of: pointer)))
        #if canImport(Glibc)
            Glibc.free(block)
        #else
            Darwin.free(block)
        #endif
    }
}
