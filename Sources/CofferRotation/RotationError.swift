/// Why a rotation was refused or failed. Messages name the setting or step and never hold a credential.
public enum RotationError: Error, Sendable, CustomStringConvertible, Equatable {
    /// `rotation_kind` or `rotation_settings` cannot be used.
    case invalidSettings(String)
    /// A step failed on the target (it is down, refused the value, or the test login failed).
    case stepFailed(step: RotationStep, reason: String)

    public var description: String {
        switch self {
        case .invalidSettings(let message): message
        case .stepFailed(let step, let reason): "the \(step.rawValue) step failed: \(reason)"
        }
    }
}
