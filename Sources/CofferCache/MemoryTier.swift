import Foundation

/// A cache entry's identity.
public struct CacheKey: Hashable, Sendable {
    public let namespace: String
    public let key: String

    public init(namespace: String, key: String) {
        self.namespace = namespace
        self.key = key
    }
}

/// A value held in memory.
struct MemoryValue: Sendable {
    let bytes: [UInt8]
    let expiresAt: Date?
    /// When it was read from or written to the table; after the staleness bound it is read again, so other
    /// instances' writes show within that bound.
    let loadedAt: ContinuousClock.Instant
    /// False when the database refused the write and the value lives in memory alone.
    let persisted: Bool

    var weight: Int { bytes.count + 64 }
}

/// The bounded in-memory tier: W-TinyLFU (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache
/// Admission Policy", 2017; as Caffeine does it). New entries enter a small LRU window (1% of the bytes);
/// the window's overflow competes for a place in the main space, a segmented LRU (probation, then
/// protected at 80%), against the main space's least recent entry, and the one a count-min sketch has
/// seen more often stays. A burst of one-off keys cannot flush the frequently read ones, which plain LRU
/// lets it do. Weights are bytes. Not thread-safe: ``PersistentCache`` holds it under a lock.
struct MemoryTier {
    enum Segment { case window, probation, protected }

    private struct Node {
        var key: CacheKey
        var value: MemoryValue
        var segment: Segment
        var previous = -1
        var next = -1
    }

    private struct List {
        var head = -1, tail = -1, weight = 0
    }

    let capacity: Int
    private let windowCapacity: Int
    private let protectedCapacity: Int
    private var nodes: [Node?] = []
    private var free: [Int] = []
    private var index: [CacheKey: Int] = [:]
    private var lists: [Segment: List] = [.window: List(), .probation: List(), .protected: List()]
    private var sketch: FrequencySketch
    /// Bytes held per namespace.
    private(set) var bytesByNamespace: [String: Int] = [:]

    init(capacity: Int) {
        self.capacity = max(capacity, 0)
        windowCapacity = max(self.capacity / 100, 1)
        protectedCapacity = (self.capacity - windowCapacity) * 8 / 10
        sketch = FrequencySketch()
    }

    var count: Int { index.count }
    var weight: Int { lists.values.reduce(0) { $0 + $1.weight } }

    /// The value, counted as an access (and promoted: probation → protected).
    mutating func get(_ key: CacheKey) -> MemoryValue? {
        sketch.increment(key.hashValue)
        guard let slot = index[key], let node = nodes[slot] else { return nil }
        switch node.segment {
        case .window, .protected:
            unlink(slot)
            pushFront(slot, node.segment)
        case .probation:
            unlink(slot)
            pushFront(slot, .protected)
            // The protected segment's overflow goes back to probation, most recent first.
            while lists[.protected]!.weight > protectedCapacity, let tail = lists[.protected]?.tail, tail != slot {
                unlink(tail)
                pushFront(tail, .probation)
            }
        }
        return node.value
    }

    /// The value without counting an access.
    func peek(_ key: CacheKey) -> MemoryValue? {
        index[key].flatMap { nodes[$0]?.value }
    }

    /// Adds or replaces a value. A value heavier than the whole tier is not kept.
    /// - Returns: the keys evicted to make room.
    @discardableResult
    mutating func put(_ key: CacheKey, _ value: MemoryValue) -> [CacheKey] {
        sketch.increment(key.hashValue)
        remove(key)
        guard value.weight <= capacity else { return [] }
        let slot: Int
        let node = Node(key: key, value: value, segment: .window)
        if let reused = free.popLast() {
            nodes[reused] = node
            slot = reused
        } else {
            nodes.append(node)
            slot = nodes.count - 1
        }
        index[key] = slot
        pushFront(slot, .window)
        bytesByNamespace[key.namespace, default: 0] += value.weight
        return evict()
    }

    /// Drops a key; returns whether it was there.
    @discardableResult
    mutating func remove(_ key: CacheKey) -> Bool {
        guard let slot = index.removeValue(forKey: key), let node = nodes[slot] else { return false }
        unlink(slot)
        nodes[slot] = nil
        free.append(slot)
        bytesByNamespace[key.namespace, default: 0] -= node.value.weight
        if bytesByNamespace[key.namespace] == 0 { bytesByNamespace[key.namespace] = nil }
        return true
    }

    /// Drops every key of a namespace.
    mutating func removeAll(namespace: String) {
        for key in index.keys where key.namespace == namespace { remove(key) }
    }

    func entries(namespace: String) -> Int {
        index.keys.reduce(0) { $0 + ($1.namespace == namespace ? 1 : 0) }
    }

    private mutating func evict() -> [CacheKey] {
        var evicted: [CacheKey] = []
        // The window's overflow moves to probation, where it competes.
        while lists[.window]!.weight > windowCapacity, let tail = lists[.window]?.tail, tail >= 0 {
            unlink(tail)
            pushFront(tail, .probation)
        }
        while weight > capacity {
            let probation = lists[.probation]!
            if probation.head >= 0, probation.head != probation.tail, let candidate = nodes[probation.head],
                let victim = nodes[probation.tail]
            {
                // The newest entrant against the least recent resident: the rarer one leaves.
                let loser = sketch.frequency(candidate.key.hashValue) > sketch.frequency(victim.key.hashValue) ? victim.key : candidate.key
                remove(loser)
                evicted.append(loser)
            } else if let last = [Segment.probation, .protected, .window].map({ lists[$0]!.tail }).first(where: { $0 >= 0 }),
                let node = nodes[last]
            {
                remove(node.key)
                evicted.append(node.key)
            } else {
                break
            }
        }
        return evicted
    }

    private mutating func unlink(_ slot: Int) {
        guard let node = nodes[slot] else { return }
        var list = lists[node.segment]!
        if node.previous >= 0 { nodes[node.previous]!.next = node.next } else { list.head = node.next }
        if node.next >= 0 { nodes[node.next]!.previous = node.previous } else { list.tail = node.previous }
        list.weight -= node.value.weight
        lists[node.segment] = list
        nodes[slot]!.previous = -1
        nodes[slot]!.next = -1
    }

    private mutating func pushFront(_ slot: Int, _ segment: Segment) {
        var list = lists[segment]!
        nodes[slot]!.segment = segment
        nodes[slot]!.previous = -1
        nodes[slot]!.next = list.head
        if list.head >= 0 { nodes[list.head]!.previous = slot }
        list.head = slot
        if list.tail < 0 { list.tail = slot }
        list.weight += nodes[slot]!.value.weight
        lists[segment] = list
    }
}

/// A count-min sketch of 4-bit counters (4 rows), halved every `sampleSize` increments so old popularity fades.
struct FrequencySketch {
    private var rows: [[UInt8]]
    private let mask: Int
    private let sampleSize: Int
    private var additions = 0
    private static let seeds: [UInt64] = [0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0x27D4_EB2F_1656_67C5]

    init(width: Int = 1 << 16) {
        rows = Array(repeating: [UInt8](repeating: 0, count: width), count: 4)
        mask = width - 1
        sampleSize = width * 10
    }

    private func slot(_ hash: Int, _ row: Int) -> Int {
        var value = UInt64(bitPattern: Int64(hash)) &* Self.seeds[row]
        value ^= value >> 29
        return Int(truncatingIfNeeded: value) & mask
    }

    func frequency(_ hash: Int) -> Int {
        (0..<4).map { Int(rows[$0][slot(hash, $0)]) }.min() ?? 0
    }

    mutating func increment(_ hash: Int) {
        var grew = false
        for row in 0..<4 {
            let index = slot(hash, row)
            if rows[row][index] < 15 {
                rows[row][index] += 1
                grew = true
            }
        }
        guard grew else { return }
        additions += 1
        if additions >= sampleSize {
            for row in 0..<4 { for index in rows[row].indices { rows[row][index] >>= 1 } }
            additions /= 2
        }
    }
}
