import Foundation

/// A DDSketch (Masson, Rim and Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with
/// Relative-Error Guarantees", VLDB 2019): values in logarithmic buckets with 1% relative accuracy, merged
/// by adding counts. Rollups keep one per minute and per hour, so p50/p90/p99 over 30 days read 720 hourly
/// sketches instead of every point. Buckets are dense arrays from the lowest index used (values from 1e-6
/// to 1e6 span about 1,400 buckets), so merging is adding arrays and decoding is one copy.
struct QuantileSketch: Equatable {
    static let accuracy = 0.01
    private static let gamma = (1 + accuracy) / (1 - accuracy)
    private static let logGamma = log(gamma)

    /// Counts from bucket index `offset` upward.
    struct Store: Equatable {
        var offset: Int32 = 0
        var counts: [UInt32] = []

        mutating func add(_ index: Int32, _ count: UInt32 = 1) {
            if counts.isEmpty {
                offset = index
                counts = [count]
            } else if index < offset {
                counts.insert(contentsOf: repeatElement(0, count: Int(offset - index)), at: 0)
                offset = index
                counts[0] += count
            } else if Int(index - offset) >= counts.count {
                counts.append(contentsOf: repeatElement(0, count: Int(index - offset) - counts.count + 1))
                counts[Int(index - offset)] += count
            } else {
                counts[Int(index - offset)] += count
            }
        }

        mutating func merge(_ other: Store) {
            guard !other.counts.isEmpty else { return }
            guard !counts.isEmpty else {
                self = other
                return
            }
            add(other.offset, 0)
            add(other.offset + Int32(other.counts.count - 1), 0)
            let shift = Int(other.offset - offset)
            for (position, count) in other.counts.enumerated() { counts[shift + position] += count }
        }

        var total: UInt64 { counts.reduce(0) { $0 + UInt64($1) } }
    }

    private(set) var positive = Store()
    private(set) var negative = Store()
    private(set) var zeros: UInt32 = 0
    var count: UInt64 { UInt64(zeros) + positive.total + negative.total }

    init() {}

    private static func index(_ magnitude: Double) -> Int32 {
        Int32(clamping: Int(ceil(log(magnitude) / logGamma)))
    }

    private static func value(_ index: Int32) -> Double {
        2 * pow(gamma, Double(index)) / (gamma + 1)
    }

    /// Where a value goes: worked out once (a logarithm) and added to several sketches.
    enum Bucket {
        case positive(Int32), negative(Int32), zero
    }

    static func bucket(of value: Double) -> Bucket {
        if value > 1e-12 { return .positive(index(value)) }
        if value < -1e-12 { return .negative(index(-value)) }
        return .zero
    }

    mutating func add(_ bucket: Bucket) {
        switch bucket {
        case .positive(let index): positive.add(index)
        case .negative(let index): negative.add(index)
        case .zero: zeros += 1
        }
    }

    mutating func add(_ value: Double) {
        add(Self.bucket(of: value))
    }

    mutating func merge(_ other: QuantileSketch) {
        positive.merge(other.positive)
        negative.merge(other.negative)
        zeros += other.zeros
    }

    /// The value at quantile `q` (0–1) by nearest rank (the ⌈q·n⌉-th smallest), within 1% of the true one;
    /// nil when empty.
    func quantile(_ q: Double) -> Double? {
        let total = count
        guard total > 0 else { return nil }
        let rank = UInt64(max(0, (q * Double(total)).rounded(.up) - 1))
        var seen: UInt64 = 0
        for position in negative.counts.indices.reversed() {
            seen += UInt64(negative.counts[position])
            if seen > rank { return -Self.value(negative.offset + Int32(position)) }
        }
        seen += UInt64(zeros)
        if seen > rank { return 0 }
        for position in positive.counts.indices {
            seen += UInt64(positive.counts[position])
            if seen > rank { return Self.value(positive.offset + Int32(position)) }
        }
        return positive.counts.isEmpty ? nil : Self.value(positive.offset + Int32(positive.counts.count - 1))
    }

    /// Little-endian UInt32s: zeros, then per store (positive, negative) its offset and length, then its counts.
    var encoded: [UInt8] {
        var words: [UInt32] = [
            zeros, UInt32(bitPattern: positive.offset), UInt32(positive.counts.count),
            UInt32(bitPattern: negative.offset), UInt32(negative.counts.count)
        ]
        words += positive.counts
        words += negative.counts
        return words.withUnsafeBufferPointer { buffer in
            Array(UnsafeRawBufferPointer(buffer)) // little-endian on every platform Coffer builds for
        }
    }

    init?(encoded bytes: [UInt8]) {
        guard bytes.count >= 20, bytes.count % 4 == 0 else { return nil }
        let words = bytes.withUnsafeBytes { raw in (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self) }
        }
        let positiveCount = Int(words[2]), negativeCount = Int(words[4])
        guard words.count == 5 + positiveCount + negativeCount else { return nil }
        zeros = words[0]
        positive = Store(offset: Int32(bitPattern: words[1]), counts: Array(words[5..<(5 + positiveCount)]))
        negative = Store(offset: Int32(bitPattern: words[3]), counts: Array(words[(5 + positiveCount)...]))
    }
}
