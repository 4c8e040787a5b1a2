import Foundation

/// A DDSketch (Masson, Rim and Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with
/// Relative-Error Guarantees", VLDB 2019): values in logarithmic buckets with 1% relative accuracy, merged
/// by adding counts. Rollups keep one per minute and per hour, so p50/p90/p99 over 30 days read 720 hourly
/// sketches instead of every point.
struct QuantileSketch: Equatable {
    static let accuracy = 0.01
    private static let gamma = (1 + accuracy) / (1 - accuracy)
    private static let logGamma = log(gamma)

    private(set) var positive: [Int32: UInt32] = [:]
    private(set) var negative: [Int32: UInt32] = [:]
    private(set) var zeros: UInt32 = 0
    var count: UInt64 { UInt64(zeros) + positive.values.reduce(0) { $0 + UInt64($1) } + negative.values.reduce(0) { $0 + UInt64($1) } }

    init() {}

    private static func index(_ magnitude: Double) -> Int32 {
        Int32(clamping: Int(ceil(log(magnitude) / logGamma)))
    }

    private static func value(_ index: Int32) -> Double {
        2 * pow(gamma, Double(index)) / (gamma + 1)
    }

    mutating func add(_ value: Double) {
        if value > 1e-12 { positive[Self.index(value), default: 0] += 1 }
        else if value < -1e-12 { negative[Self.index(-value), default: 0] += 1 }
        else { zeros += 1 }
    }

    mutating func merge(_ other: QuantileSketch) {
        for (index, count) in other.positive { positive[index, default: 0] += count }
        for (index, count) in other.negative { negative[index, default: 0] += count }
        zeros += other.zeros
    }

    /// The value at quantile `q` (0–1) by nearest rank (the ⌈q·n⌉-th smallest), within 1% of the true one;
    /// nil when empty.
    func quantile(_ q: Double) -> Double? {
        let total = count
        guard total > 0 else { return nil }
        let rank = UInt64(max(0, (q * Double(total)).rounded(.up) - 1))
        var seen: UInt64 = 0
        for index in negative.keys.sorted(by: >) {
            seen += UInt64(negative[index] ?? 0)
            if seen > rank { return -Self.value(index) }
        }
        seen += UInt64(zeros)
        if seen > rank { return 0 }
        for index in positive.keys.sorted() {
            seen += UInt64(positive[index] ?? 0)
            if seen > rank { return Self.value(index) }
        }
        return positive.keys.max().map(Self.value)
    }

    /// Little-endian: zeros (4 bytes), the number of positive then negative buckets (4 each), then (index, count) pairs.
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12 + 8 * (positive.count + negative.count))
        func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        append(zeros)
        append(UInt32(positive.count))
        append(UInt32(negative.count))
        for (index, count) in positive.sorted(by: { $0.key < $1.key }) { append(UInt32(bitPattern: index)); append(count) }
        for (index, count) in negative.sorted(by: { $0.key < $1.key }) { append(UInt32(bitPattern: index)); append(count) }
        return bytes
    }

    init?(encoded bytes: [UInt8]) {
        guard bytes.count >= 12 else { return nil }
        func read(_ offset: Int) -> UInt32 {
            UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
        }
        zeros = read(0)
        let positiveCount = Int(read(4)), negativeCount = Int(read(8))
        guard bytes.count == 12 + 8 * (positiveCount + negativeCount) else { return nil }
        var offset = 12
        for _ in 0..<positiveCount { positive[Int32(bitPattern: read(offset))] = read(offset + 4); offset += 8 }
        for _ in 0..<negativeCount { negative[Int32(bitPattern: read(offset))] = read(offset + 4); offset += 8 }
    }
}
