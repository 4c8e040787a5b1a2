public import CofferAccess
public import CofferFoundation

/// What the KV engine asks of rotation when a caller writes a credential's rotation fields (`rotation_kind`,
/// `rotation_settings` in its metadata). Rotation sits above the engines and drives them, so the engine is
/// handed this check rather than importing it; CofferRotation's `RotationAuthority` is the one implementation.
public protocol RotationSettingsCheck: Sendable {
    /// Checks that a rotator of `kind` takes `settings` (a JSON object's text, or `nil`), so a bad one is
    /// refused when written, not at the next run.
    /// - Throws: ``AccessError`` `.invalidRequest` saying what is wrong.
    func validate(kind: String, settings: String?) throws

    /// Checks that `grant`'s caller may give a credential `settings`: settings can make a rotation act on
    /// another system, which needs its own rights besides writing the metadata.
    /// - Throws: ``AccessError`` `.permissionDenied` naming the missing right, `.invalidRequest` for a setting
    ///   that names nothing usable.
    func authorise(_ grant: Grant, settings: JSONValue?) async throws
}
