import CofferStore
import Foundation

/// The blob of a `metric_pending` row: per series, its id (Int64), its point count (UInt32), then each point's
/// time in microseconds (Int64) and value (the Double's bits, UInt64), all little-endian. A blob that does not
/// parse to its end (a database writer cut or edited it) decodes to nil, never read past.
enum PendingCodec {
    static func encode(_ points: PendingPoints) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(points.values.reduce(0) { $0 + 12 + $1.count * 16 })
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        for (series, list) in points.sorted(by: { $0.key < $1.key }) {
            put(series)
            put(UInt32(list.count))
            for (time, value) in list {
                put(time.microsecondsSinceEpoch)
                put(value.bitPattern)
            }
        }
        return out
    }

    static func decode(_ blob: [UInt8]) -> PendingPoints? {
        struct Malformed: Error {}
        var offset = 0
        func take<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let size = MemoryLayout<T>.size
            guard blob.count - offset >= size else { throw Malformed() }
            var value: T = 0
            for index in 0..<size { value |= T(truncatingIfNeeded: blob[offset + index]) << (8 * index) }
            offset += size
            return value
        }
        var points: PendingPoints = [:]
        do {
            while offset < blob.count {
                let series = try take(Int64.self)
                let count = Int(try take(UInt32.self))
                guard count <= (blob.count - offset) / 16 else { return nil }
                var list: [(Date, Double)] = []
                list.reserveCapacity(count)
                for _ in 0..<count {
                    let time = Date(microsecondsSinceEpoch: try take(Int64.self))
                    let value = Double(bitPattern: try take(UInt64.self))
                    guard value.isFinite else { return nil }
                    list.append((time, value))
                }
                points[series, default: []].append(contentsOf: list)
            }
        } catch {
            return nil
        }
        return points
    }

    /// Several rows' points, per series in time order, and how many rows did not parse (left out).
    static func combine(_ blobs: [[UInt8]]) -> (points: PendingPoints, malformed: Int) {
        var points: PendingPoints = [:]
        var malformed = 0
        for blob in blobs {
            guard let decoded = decode(blob) else {
                malformed += 1
                continue
            }
            if blobs.count == 1 { return (decoded, 0) }
            for (series, list) in decoded { points[series, default: []].append(contentsOf: list) }
        }
        for series in Array(points.keys) { points[series]?.sort { $0.0 < $1.0 } }
        return (points, malformed)
    }
}
