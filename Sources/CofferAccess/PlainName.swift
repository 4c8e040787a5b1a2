/// The names Coffer takes for mounts, auth methods, audit devices, roles and policies: 1 to `maximum` ASCII
/// letters, digits, `-`, `_` or `.` (no `/`, no space, nothing a path or a log line could read otherwise).
public enum PlainName {
    public static func isValid(_ name: String, maximum: Int) -> Bool {
        let bytes = name.utf8
        return !bytes.isEmpty && bytes.count <= maximum
            && bytes.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: ".")
            }
    }
}
