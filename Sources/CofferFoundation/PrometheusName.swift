/// Prometheus names: metrics `[a-zA-Z_:][a-zA-Z0-9_:]*`, labels `[a-zA-Z_][a-zA-Z0-9_]*` and not `__…` (reserved).
public enum PrometheusName {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, at most 200 bytes.
    public static func isMetric(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 200, isStart(first) || first == UInt8(ascii: ":") else { return false }
        return name.utf8.allSatisfy { isStart($0) || isDigit($0) || $0 == UInt8(ascii: ":") }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, at most 100 bytes, not starting with `__` (reserved by Prometheus).
    public static func isLabel(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 100, isStart(first), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isStart($0) || isDigit($0) }
    }

    private static func isStart(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || byte == UInt8(ascii: "_")
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
