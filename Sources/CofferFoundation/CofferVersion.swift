/// This build's version, as `sys/health`, `sys/seal-status` and the mount entries' plugin versions give it.
public enum CofferVersion {
    public static let current = "0.1.0"
}
