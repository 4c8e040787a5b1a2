import CofferCrypto
import CofferFoundation
import CofferKeys
public import CofferStore
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// An audit device enabled through `sys/audit`: a `file` or a `socket` that receives every request and
/// response in Vault's JSON audit format.
public struct AuditDevice: Sendable, Equatable {
    public let path: String
    public let type: String
    public let description: String
    /// `file_path` for a file; `address` and `socket_type` (`tcp` or `unix`) for a socket.
    public let options: [String: String]
    /// Names the device's HMAC key, derived from the audit key (nothing secret is stored for it).
    public let uuid: String

    /// The path form Vault uses in `sys/audit` answers: `siem/`.
    public var key: String { path + "/" }
}

/// Where `sys/audit` may send entries: a caller with `sudo` chooses the destination, so the operator bounds it
/// (a setting must not let a caller make Coffer write files or open connections elsewhere).
public struct AuditDeviceLimits: Sendable, Equatable {
    /// File devices must lie inside this directory; `nil` refuses file devices.
    public var fileDirectory: String?
    /// The socket addresses devices may connect to (`127.0.0.1:9090`, `/run/siem.sock`); empty refuses socket devices.
    public var socketAddresses: Set<String>

    public init(fileDirectory: String? = nil, socketAddresses: Set<String> = []) {
        self.fileDirectory = fileDirectory
        self.socketAddresses = socketAddresses
    }
}

/// Vault's audit devices beside Coffer's own trail. The trail is the record and stays fail-closed (a request
/// whose entry is not durable fails); a device is a copy, as in Vault where a request fails only when *every*
/// device fails, which with the trail counted among them is never because of a device. Each device writes
/// from its own queue, with a bound on what may wait and a send timeout, so a device that hangs (vault#18943)
/// holds up nothing: its lines are dropped and counted, and the log says so.
public final class AuditDevices: Sendable {
    let database: any Database
    let keys: KeyHierarchy
    let limits: AuditDeviceLimits
    let logger: Logger

    /// How long a list of devices read from the database is used before it is read again (other instances
    /// enable and disable devices too).
    static let refreshInterval: Duration = .seconds(5)

    private struct State {
        var sinks: [AuditDeviceSink] = []
        var loadedAt: ContinuousClock.Instant?
        var loading = false
    }
    private let state = Locked(State())

    init(database: any Database, keys: KeyHierarchy, limits: AuditDeviceLimits, logger: Logger) {
        self.database = database
        self.keys = keys
        self.limits = limits
        self.logger = logger
    }

    // MARK: settings

    public func list() async throws -> [AuditDevice] {
        try await database.read { conn in
            try conn.query(AuditDevice.self, "SELECT \(columns: AuditDevice.Column.self) FROM audit_devices ORDER BY path")
        }
    }

    /// Enables a device at `path`.
    /// - Throws: ``AccessError`` `.invalidRequest` for an unknown type, a bad path, options outside the
    ///   operator's limits, a path in use, or a destination that cannot be opened now.
    public func enable(_ grant: Grant, path raw: String, type: String, description: String, options: [String: String]) async throws {
        let path = try Self.validatedPath(raw)
        let device = AuditDevice(
            path: path, type: type, description: description, options: try checkedOptions(type: type, options),
            uuid: UUID().uuidString.lowercased())
        // Opened once now, so a destination that cannot be written is refused here, not found out later.
        try AuditDeviceSink.open(device).close()
        let now = Date().roundedToStoredPrecision
        try await database.transaction { conn in
            let inserted = try conn.execute(
                """
                INSERT INTO audit_devices (path, type, description, options, uuid, created_at)
                VALUES (\(path), \(type), \(description), \(TokenStore.encode(device.options)), \(device.uuid), \(now))
                ON CONFLICT (path) DO NOTHING
                """)
            guard inserted == 1 else { throw AccessError(.invalidRequest, "path already in use: an audit device is enabled at \(path)/") }
        }
        grant.auditFact("audit.device", path)
        try await reload()
    }

    /// Disables the device at `path`; quiet when there is none, as Vault is.
    public func disable(_ grant: Grant, path raw: String) async throws {
        let path = try Self.validatedPath(raw)
        try await database.execute("DELETE FROM audit_devices WHERE path = \(path)")
        grant.auditFact("audit.device", path)
        try await reload()
    }

    /// Vault's `sys/audit-hash/:path`: how the device at `path` writes `input`, to find it in the device's log.
    /// - Throws: ``AccessError`` `.invalidRequest` when no device is enabled there.
    public func hash(path: String, input: String) async throws -> String {
        guard let device = try await list().first(where: { $0.path == path }) else {
            throw AccessError(.invalidRequest, "unknown audit backend \(path)")
        }
        let key = try Self.deviceKey(device, keys: keys)
        return Self.hmac(input, key: key)
    }

    // MARK: entries

    /// What the Gate saw of one request, for the devices: written as Vault's `request` and `response` lines.
    struct Event: Sendable {
        var requestID: String
        var operation: String
        var path: String
        var remoteAddress: String
        /// The token the request presented (hashed per device, never written).
        var token: String?
        var accessor: String
        var displayName: String
        var policies: [String]
        var metadata: [String: String]?
        var status: Int
        var error: String?
        /// The response's facts and sensitive values (hashed per device).
        var notes: [AuditNotes.Note]
    }

    /// What a device could not deliver since this server started.
    public struct DeliveryCounts: Sendable, Equatable {
        /// Lines dropped because the device's queue was full.
        public let dropped: Int
        /// Lines whose write failed or timed out (``AuditDeviceSink/sendTimeout``).
        public let failed: Int
        /// Lines queued and not yet written: how far behind the device is now.
        public let pending: Int
    }

    /// Per device path, the lines it could not deliver: a device that hangs shows here, not in request latency.
    public func deliveryCounts() -> [String: DeliveryCounts] {
        state.withLock { $0.sinks }.reduce(into: [:]) { counts, sink in counts[sink.device.path] = sink.counts }
    }

    /// Formats `event` for every device and queues the lines. Costs one lock when no device is enabled.
    func emit(_ event: @autoclosure () -> Event) {
        let (sinks, stale) = state.withLock { state -> ([AuditDeviceSink], Bool) in
            let stale = !state.loading && state.loadedAt.map { ContinuousClock.now - $0 > Self.refreshInterval } ?? true
            if stale { state.loading = true }
            return (state.sinks, stale)
        }
        if stale { Task { try? await self.reload() } }
        guard !sinks.isEmpty else { return }
        let event = event()
        let time = Date()
        for sink in sinks {
            guard let key = try? Self.deviceKey(sink.device, keys: keys) else { continue } // sealed: nothing to hash with
            sink.enqueue(Self.lines(event, time: time, key: key))
        }
    }

    /// Reads the devices again and opens the new ones; closes the ones gone.
    func reload() async throws {
        defer { state.withLock { $0.loading = false } }
        let devices = try await list()
        let logger = logger
        state.withLock { state in
            var kept: [AuditDeviceSink] = []
            for device in devices {
                if let existing = state.sinks.first(where: { $0.device == device }) {
                    kept.append(existing)
                } else {
                    kept.append(AuditDeviceSink(device: device, logger: logger))
                }
            }
            for gone in state.sinks where !kept.contains(where: { $0 === gone }) { gone.shutDown() }
            state.sinks = kept
            state.loadedAt = .now
        }
    }

    /// The two lines Vault writes for a request: the request, then the response.
    static func lines(_ event: Event, time: Date, key: SecureHandle) -> [String] {
        let hmac = { (value: String) in value.isEmpty ? "" : Self.hmac(value, key: key) }
        let auth = VaultAuditLine.Auth(
            client_token: hmac(event.token ?? ""), accessor: hmac(event.accessor), display_name: event.displayName,
            policies: event.policies, token_policies: event.policies, metadata: event.metadata)
        let request = VaultAuditLine.Request(
            id: event.requestID, operation: vaultOperation(event.operation), client_token: auth.client_token,
            client_token_accessor: auth.accessor, path: event.path, remote_address: event.remoteAddress)
        var data: [String: String] = [:]
        for note in event.notes {
            if !note.sensitive {
                data[note.key] = note.value
            } else if let secret = note.secret {
                data[note.key] = secret.bytes.withUnsafeBytes { "hmac-sha256:" + HMACSHA256.hex($0, key: key.bytes) }
            } else {
                data[note.key] = hmac(note.value)
            }
        }
        let stamp = time.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let first = VaultAuditLine(time: stamp, type: "request", auth: auth, request: request, response: nil, error: nil)
        let second = VaultAuditLine(
            time: stamp, type: "response", auth: auth, request: request,
            response: VaultAuditLine.Response(status: event.status, data: data), error: event.error)
        return [first, second].compactMap { line in (try? encoder.encode(line)).map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Vault's operation names.
    static func vaultOperation(_ operation: String) -> String {
        switch operation {
        case "write": "update"
        default: operation
        }
    }

    static func hmac(_ value: String, key: SecureHandle) -> String {
        "hmac-sha256:" + Array(value.utf8).withUnsafeBytes { HMACSHA256.hex($0, key: key.bytes) }
    }

    /// The device's own HMAC key: the audit key, keyed with the device's UUID, so devices cannot be correlated
    /// with each other or with the trail's `hmac:` values, and nothing secret is stored for a device.
    static func deviceKey(_ device: AuditDevice, keys: KeyHierarchy) throws -> SecureHandle {
        let auditKey = try keys.systemKey(.auditHMAC)
        return SecureHandle(
            SecureBytes(copying: try BLAKE2b.hash(Array("coffer-audit-device:\(device.uuid)".utf8), key: auditKey.bytes, length: 32)))
    }

    // MARK: checks

    func checkedOptions(type: String, _ options: [String: String]) throws -> [String: String] {
        switch type {
        case "file":
            guard let directory = limits.fileDirectory else {
                throw AccessError(
                    .invalidRequest,
                    """
                    file audit devices are off: the operator sets audit_device_dir (COFFER_AUDIT_DEVICE_DIR) to the directory \
                    they may write in
                    """
                )
            }
            guard let file = options["file_path"] ?? options["path"], !file.isEmpty else {
                throw AccessError(.invalidRequest, "options.file_path is required: a file inside \(directory)")
            }
            return ["file_path": try Self.contained(file, in: directory)]
        case "socket":
            guard let address = options["address"], !address.isEmpty else {
                throw AccessError(.invalidRequest, "options.address is required, such as 127.0.0.1:9090")
            }
            let kind = options["socket_type"] ?? "tcp"
            guard kind == "tcp" || kind == "unix" else {
                throw AccessError(.invalidRequest, "options.socket_type must be tcp or unix (udp would drop entries silently)")
            }
            guard limits.socketAddresses.contains(address) else {
                throw AccessError(
                    .invalidRequest,
                    "\(address) is not one of the socket addresses the operator allows (audit_device_sockets, COFFER_AUDIT_DEVICE_SOCKETS)")
            }
            return ["address": address, "socket_type": kind]
        default:
            throw AccessError(
                .invalidRequest, "no audit device of type \"\(type)\": Coffer offers file and socket (its own trail is always on)")
        }
    }

    /// `file` as an absolute path inside `directory`: relative paths are taken inside it, and nothing may lead
    /// out of it (`..`, or a directory that is a symbolic link elsewhere; the file itself is opened without
    /// following one).
    static func contained(_ file: String, in directory: String) throws -> String {
        let base = URL(fileURLWithPath: directory).resolvingSymlinksInPath().standardizedFileURL.path
        let candidate = file.hasPrefix("/") ? URL(fileURLWithPath: file) : URL(fileURLWithPath: base).appendingPathComponent(file)
        guard !candidate.pathComponents.contains("..") else {
            throw AccessError(.invalidRequest, "options.file_path may not contain '..'; give a file inside \(base)")
        }
        let parent = candidate.deletingLastPathComponent().resolvingSymlinksInPath().standardizedFileURL.path
        let resolved = parent + "/" + candidate.lastPathComponent
        guard parent == base || parent.hasPrefix(base + "/") else {
            throw AccessError(.invalidRequest, "options.file_path must lie inside \(base), the directory the operator allows")
        }
        return resolved
    }

    static func validatedPath(_ raw: String) throws -> String {
        let path = raw.hasSuffix("/") ? String(raw.dropLast()) : raw
        guard PlainName.isValid(path, maximum: 64), path != ".", path != ".." else {
            throw AccessError(.invalidRequest, "an audit device path is one segment of letters, digits, '-', '_' or '.', such as siem")
        }
        guard path != "coffer" else {
            throw AccessError(.invalidRequest, "coffer/ is Coffer's own audit trail, which is always on; choose another path")
        }
        return path
    }

}

/// An `audit_devices` row.
extension AuditDevice: SQLRowDecodable {
    /// The columns of `audit_devices` a device is read from.
    enum Column: String, SQLColumn { case path, type, description, options, uuid }

    public init(row: SQLRow) throws {
        self.init(
            path: try row.decode(Column.path), type: try row.decode(Column.type), description: try row.decode(Column.description),
            options: try TokenStore.decodeMap(try row.decode(Column.options)), uuid: try row.decode(Column.uuid))
    }
}

/// One line of Vault's JSON audit format.
struct VaultAuditLine: Encodable {
    struct Auth: Encodable {
        let client_token: String
        let accessor: String
        let display_name: String
        let policies: [String]
        let token_policies: [String]
        let metadata: [String: String]?
        let entity_id = ""
        let token_type = "service"
    }
    struct Namespace: Encodable { let id = "root" }
    struct Request: Encodable {
        let id: String
        let operation: String
        let client_token: String
        let client_token_accessor: String
        let namespace = Namespace()
        let path: String
        let remote_address: String
    }
    struct Response: Encodable {
        /// Coffer's addition: the HTTP status answered.
        let status: Int
        let data: [String: String]
    }
    let time: String
    let type: String
    let auth: Auth
    let request: Request
    let response: Response?
    let error: String?
}

/// A device's destination and its queue. Writes run on the sink's own dispatch queue (never the concurrency
/// pool), so a slow destination blocks only itself; at most ``maximumPending`` lines wait.
final class AuditDeviceSink: Sendable {
    let device: AuditDevice
    let logger: Logger
    static let maximumPending = 10_000
    /// Sends give up after this long (`SO_SNDTIMEO`), and the line is counted as failed.
    static let sendTimeout = 2

    private struct Queue {
        var pending = 0
        var dropped = 0
        var failed = 0
        var handle: Handle?
        var open = true
    }
    private let queue = Locked(Queue())
    private let worker: DispatchQueue

    init(device: AuditDevice, logger: Logger) {
        self.device = device
        self.logger = logger
        worker = DispatchQueue(label: "coffer.audit-device.\(device.path)")
    }

    var counts: AuditDevices.DeliveryCounts {
        queue.withLock { AuditDevices.DeliveryCounts(dropped: $0.dropped, failed: $0.failed, pending: $0.pending) }
    }

    /// An open destination: a file descriptor.
    struct Handle: Sendable {
        let fd: Int32
        func close() { _ = Glibc.close(fd) }
    }

    func enqueue(_ lines: [String]) {
        let accepted = queue.withLock { queue -> Bool in
            guard queue.open, queue.pending + lines.count <= Self.maximumPending else {
                queue.dropped += lines.count
                return false
            }
            queue.pending += lines.count
            return true
        }
        guard accepted else {
            logger.warning("audit device is behind; lines dropped", metadata: ["coffer.audit.device": "\(device.path)"])
            return
        }
        worker.async { self.write(lines) }
    }

    private func write(_ lines: [String]) {
        defer { queue.withLock { $0.pending -= lines.count } }
        // A device disabled meanwhile is not opened again for what was queued before.
        guard queue.withLock({ $0.open }) else { return }
        var text = Array(lines.joined(separator: "\n").utf8)
        text.append(UInt8(ascii: "\n"))
        for attempt in 0..<2 {
            guard let handle = handleOrOpen() else { break }
            if Self.writeAll(text, to: handle.fd, socket: device.type == "socket") { return }
            // A broken connection or a rotated-away file: reopen once, then count the failure.
            queue.withLock { $0.handle = nil }
            handle.close()
            if attempt == 1 { break }
        }
        queue.withLock { $0.failed += lines.count }
        logger.warning("audit device write failed", metadata: ["coffer.audit.device": "\(device.path)"])
    }

    private func handleOrOpen() -> Handle? {
        if let handle = queue.withLock({ $0.handle }) { return handle }
        guard let handle = try? Self.open(device) else { return nil }
        queue.withLock { $0.handle = handle }
        return handle
    }

    func shutDown() {
        worker.async {
            let handle = self.queue.withLock { queue -> Handle? in
                queue.open = false
                defer { queue.handle = nil }
                return queue.handle
            }
            handle?.close()
        }
    }

    /// Writes every byte; a socket is written with `MSG_NOSIGNAL`, so a peer that went away is an error to
    /// count, not a SIGPIPE that ends the process.
    static func writeAll(_ bytes: [UInt8], to fd: Int32, socket: Bool) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                socket
                    ? Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                    : Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// Opens the device's destination.
    /// - Throws: ``AccessError`` `.invalidRequest` saying why it cannot be opened.
    static func open(_ device: AuditDevice) throws -> Handle {
        switch device.type {
        case "file":
            let path = device.options["file_path"] ?? ""
            let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw AccessError(.invalidRequest, "cannot open \(path) for appending (errno \(errno))") }
            return Handle(fd: fd)
        default:
            return try connect(device.options["address"] ?? "", unix: device.options["socket_type"] == "unix")
        }
    }

    private static func connect(_ address: String, unix: Bool) throws -> Handle {
        let fd = socket(unix ? AF_UNIX : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw AccessError(.invalidRequest, "cannot open a socket (errno \(errno))") }
        var timeout = timeval(tv_sec: sendTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected: Int32
        if unix {
            var socketAddress = sockaddr_un()
            socketAddress.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(address.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: socketAddress.sun_path) else {
                _ = Glibc.close(fd)
                throw AccessError(.invalidRequest, "the socket path is too long")
            }
            withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in
                for (index, byte) in bytes.enumerated() { raw[index] = byte }
            }
            connected = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        } else {
            guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
                _ = Glibc.close(fd)
                throw AccessError(.invalidRequest, "a tcp address is host:port with an IPv4 host, such as 127.0.0.1:9090")
            }
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = port.bigEndian
            guard inet_pton(AF_INET, String(address[..<colon]), &socketAddress.sin_addr) == 1 else {
                _ = Glibc.close(fd)
                throw AccessError(.invalidRequest, "a tcp address is host:port with an IPv4 host, such as 127.0.0.1:9090")
            }
            connected = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard connected == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw AccessError(.invalidRequest, "cannot connect to \(address) (errno \(code))")
        }
        return Handle(fd: fd)
    }
}
