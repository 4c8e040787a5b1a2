import CofferCrypto
import CofferEngines
public import CofferFoundation
import CofferHTTPClient
import Foundation

/// `webhook`: a third-party API key (an exchange's, a SaaS provider's) whose system takes a new key over HTTPS.
/// create makes the new value (as `random` does, in `field`); set POSTs it to the target's rotation endpoint,
/// signed; test calls the target with the new value and wants a 2xx. A step that fails rolls back: set is
/// called again with the current value, so the target goes back to the key the store calls current.
///
/// Settings: `url` (the rotation endpoint, `https://`), `test_url` (`https://`, called with the new value),
/// `signing_secret` (`mount/path` of a secret whose `hmac_key` signs each call; the writer needs `read` on it),
/// `test_header` (default `Authorization`) and `test_prefix` (default `Bearer `), `timeout` (seconds, 1–60,
/// default 10), and `field`, `length` (default 40), `alphabet`, `require` as for `random`. Both URLs' `host:port`
/// must be in the operator's `rotation_webhook_hosts`: a caller who may write a credential's metadata must not be
/// able to send its next value anywhere they like.
///
/// The set call, `POST url`, has the JSON body `{"action": "set", "field", "pending", "current_fingerprint"}`
/// (the fingerprint is HMAC-SHA-256 of the current value under the signing key, so the target can tell which
/// key is being replaced without being sent it) and the headers `Idempotency-Key` (derived from the pending
/// value: a resumed run repeats the same key), `X-Coffer-Timestamp` (Unix seconds) and `X-Coffer-Signature`
/// (`v1=` and the hex HMAC-SHA-256 of `<timestamp>.<body>`). Answers' bodies are never read into errors or logs.
public struct WebhookRotator: Rotator {
    public static let kind = "webhook"

    let url: URL
    let testURL: URL
    let signingSecret: String
    let testHeader: String
    let testPrefix: String
    let timeout: Duration
    let value: GeneratedField
    let tls: HTTPTransport.TLS

    public init(settings: JSONValue, limits: RotatorLimits) throws {
        guard case .object(let object) = settings else { throw RotationError.invalidSettings("rotation_settings must be a JSON object") }
        let known: Set<String> = [
            "url", "test_url", "signing_secret", "test_header", "test_prefix", "timeout", "field", "length", "alphabet", "require"
        ]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw RotationError.invalidSettings(
                "the webhook rotator has no setting \"\(unknown)\"; it takes \(known.sorted().joined(separator: ", "))")
        }
        guard !limits.webhookHosts.isEmpty else {
            throw RotationError.invalidSettings(
                "webhook rotation is off on this service: the operator lists the hosts it may call in rotation_webhook_hosts")
        }
        url = try Self.target(object["url"], setting: "url", limits: limits)
        testURL = try Self.target(object["test_url"], setting: "test_url", limits: limits)
        guard case .string(let secret)? = object["signing_secret"], secret.contains("/") else {
            throw RotationError.invalidSettings(
                "signing_secret is required: the mount/path of a secret whose hmac_key signs the calls, such as secret/exchange/signing")
        }
        signingSecret = secret
        switch object["test_header"] {
        case nil: testHeader = "Authorization"
        case .string(let name)?
        where !name.isEmpty && name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }):
            testHeader = name
        default: throw RotationError.invalidSettings("test_header must be an HTTP header name, such as X-API-Key")
        }
        switch object["test_prefix"] {
        case nil: testPrefix = "Bearer "
        // By bytes: "\r\n" is one Character in Swift, equal to neither "\r" nor "\n".
        case .string(let prefix)? where !prefix.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }): testPrefix = prefix
        default:
            throw RotationError.invalidSettings(
                "test_prefix must be text without line breaks or control characters, such as \"Bearer \" or \"\"")
        }
        switch object["timeout"] {
        case nil: timeout = .seconds(10)
        case .integer(let seconds)? where (1...60).contains(seconds): timeout = .seconds(seconds)
        default: throw RotationError.invalidSettings("timeout must be seconds from 1 to 60")
        }
        value = try GeneratedField(object, defaultLength: 40)
        tls = HTTPTransport.TLS(caFile: limits.webhookCAFile)
    }

    /// An `https://` URL without credentials whose `host:port` the operator allows.
    static func target(_ setting: JSONValue?, setting name: String, limits: RotatorLimits) throws -> URL {
        guard case .string(let text)? = setting, let url = URL(string: text), url.scheme == "https", let host = url.host,
            !host.isEmpty, url.user == nil, url.password == nil, url.fragment == nil
        else {
            throw RotationError.invalidSettings(
                "\(name) must be an https:// URL without credentials, such as https://api.example.com/keys/rotate")
        }
        let address = "\(host):\(url.port ?? 443)"
        guard limits.webhookHosts.contains(address) else {
            throw RotationError.invalidSettings(
                "\(name) calls \(address), which is not in the operator's rotation_webhook_hosts")
        }
        return url
    }

    public func create(from current: JSONValue) throws -> JSONValue {
        try value.replacing(in: current)
    }

    public func set(pending: JSONValue, current: JSONValue, context: RotationContext) async throws {
        let key = try await signingKey(context)
        let newValue = try value.value(in: pending, step: .set)
        let currentValue = try? value.value(in: current, step: .set)
        var body = try JSONValue.object([
            "action": .string("set"), "field": .string(value.field), "pending": .string(newValue),
            "current_fingerprint": currentValue.map { .string(Self.mac("fingerprint:" + $0, key: key)) } ?? .null
        ]).encoded()
        defer { body.withUnsafeMutableBytes { Wipe.raw($0) } }
        let timestamp = String(Int(Date().timeIntervalSince1970))
        var signed = Data(timestamp.utf8) + Data(".".utf8) + body
        defer { signed.withUnsafeMutableBytes { Wipe.raw($0) } }
        let signature = signed.withUnsafeBytes { HMACSHA256.hex($0, key: key) }
        let status = try await call(
            url, method: "POST", step: .set,
            headers: [
                ("Content-Type", "application/json"), ("Idempotency-Key", String(Self.mac("idempotency:" + newValue, key: key).prefix(32))),
                ("X-Coffer-Timestamp", timestamp), ("X-Coffer-Signature", "v1=" + signature), ("User-Agent", "coffer-rotation")
            ], body: body)
        guard (200..<300).contains(status) else {
            throw RotationError.stepFailed(step: .set, reason: "the rotation endpoint \(Self.address(url)) answered HTTP \(status)")
        }
    }

    public func test(pending: JSONValue, context: RotationContext) async throws {
        let newValue = try value.value(in: pending, step: .test)
        let status = try await call(
            testURL, method: "GET", step: .test, headers: [(testHeader, testPrefix + newValue), ("User-Agent", "coffer-rotation")],
            body: nil)
        guard (200..<300).contains(status) else {
            throw RotationError.stepFailed(
                step: .test, reason: "the test request with the new value to \(Self.address(testURL)) answered HTTP \(status)")
        }
    }

    private func call(_ url: URL, method: String, step: RotationStep, headers: [(String, String)], body: Data?) async throws -> Int {
        do {
            return try await HTTPTransport(tls: tls).send(url, method: method, headers: headers, body: body, timeout: timeout).status
        } catch {
            // The error names the address and the transport's reason (refused, timed out, a TLS failure), never a body.
            throw RotationError.stepFailed(step: step, reason: "cannot call \(Self.address(url)): \(error)")
        }
    }

    private func signingKey(_ context: RotationContext) async throws -> SecureBytes {
        guard case .object(let object) = try await context.secret(signingSecret), case .string(let key)? = object["hmac_key"], !key.isEmpty
        else {
            throw RotationError.stepFailed(step: .set, reason: "the signing secret \(signingSecret) has no hmac_key")
        }
        return SecureBytes(copying: Array(key.utf8))
    }

    static func mac(_ text: String, key: borrowing SecureBytes) -> String {
        var bytes = Array(text.utf8)
        defer { Wipe.bytes(&bytes) }
        return bytes.withUnsafeBytes { HMACSHA256.hex($0, key: key) }
    }

    static func address(_ url: URL) -> String { "\(url.host ?? ""):\(url.port ?? 443)" }
}
