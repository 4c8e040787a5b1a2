import CofferFoundation

/// The model registry's errors.
enum ModelError {
    static func storage(_ message: String) -> SuiteError { SuiteError(.storage, message) }

    static func integrity(_ digest: String) -> SuiteError {
        SuiteError(
            .integrity,
            "the artifact sha256:\(digest) on disk does not match its digest: it is damaged; restore the artifact folder from backup")
    }

    static func missingArtifact(_ digest: String) -> SuiteError {
        SuiteError(.integrity, "the artifact \(digest) is missing from the artifact folder: restore it from backup")
    }

    static func tooLarge(_ limit: Int64) -> SuiteError {
        SuiteError(.tooLarge, "the artifact is larger than \(limit) bytes")
    }
}
