import CSodium

/// libsodium's one-time initialisation. `sodium_init` is itself thread-safe and idempotent; this makes
/// every entry point of CofferCrypto call it exactly once, before any other libsodium function.
enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    static func ensureInitialised() {
        precondition(initialised, "libsodium failed to initialise (sodium_init < 0): no secure randomness is available")
    }
}
