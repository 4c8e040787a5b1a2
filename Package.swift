// swift-tools-version:6.2
import PackageDescription

/// One settings array for every target (house style §1): Swift 6 mode is the tools default,
/// plus the upcoming features Hummingbird itself builds with.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault")
]

/// A module of the persistence suite: the Gate (CofferAccess), its HTTP side for the module's routes, the store
/// and the foundation types, plus what the module alone needs; never a sibling module.
func suiteModule(_ name: String, also extra: [Target.Dependency] = []) -> Target {
    .target(
        name: name,
        dependencies: [
            "CofferAccess", "CofferFoundation", "CofferHTTP", "CofferStore",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Hummingbird", package: "hummingbird")
        ] + extra,
        swiftSettings: swiftSettings
    )
}

/// The test target of a module whose tests run it behind a prepared server (CofferServerTesting's fixtures
/// and typed answers), plus what its tests alone import.
func serverTests(_ name: String, also extra: [Target.Dependency] = []) -> Target {
    .testTarget(
        name: name,
        dependencies: [
            "CofferServerTesting", "CofferServer", "CofferAccess", "CofferCrypto", "CofferFoundation", "CofferHTTP",
            "CofferKeys", "CofferStore", "CofferTesting",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "PropertyBased", package: "swift-property-based")
        ] + extra,
        swiftSettings: swiftSettings
    )
}

let package = Package(
    name: "coffer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "coffer", targets: ["CofferCLI"]),
        .executable(name: "coffer-bench", targets: ["CofferBench"]),
        .executable(name: "coffer-fuzz", targets: ["CofferFuzz"]),
        .library(name: "CofferCrypto", targets: ["CofferCrypto"]),
        .library(name: "CofferKeys", targets: ["CofferKeys"]),
        .library(name: "CofferStore", targets: ["CofferStore"]),
        .library(name: "CofferServer", targets: ["CofferServer"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Already built for Hummingbird; CofferServer needs its HTTP part type to restore Vault's LIST method.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // TLS for the listener (and the CLI's client): NIO's own TLS, as Hummingbird uses it.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Property-based tests (swift-testing): the Gate's path decoding and decisions over random paths and encodings.
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // The web console's pages (/ui/): logic-less templates that HTML-escape every value by default, no JavaScript.
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1")
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // Value types every layer may use (JSONValue, Hex, JSON text, names, counters, the suite's error):
        // no dependency beyond the standard library and Foundation.
        .target(
            name: "CofferFoundation",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CofferCrypto",
            dependencies: ["CSodium", "CofferFoundation"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CofferAccess",
            dependencies: ["CofferCrypto", "CofferFoundation", "CofferKeys", "CofferStore"],
            swiftSettings: swiftSettings
        ),
        // An HTTP/1.1 client over NIO with TLS the caller controls (a private CA, a client certificate): the CLI's
        // way to the service and the webhook rotator's way to the systems whose keys it rotates.
        .target(
            name: "CofferHTTPClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl")
            ],
            swiftSettings: swiftSettings
        ),
        // The web console (/ui/): server-rendered pages, each a caller of the Gate with the signed-in token.
        .target(
            name: "CofferConsole",
            dependencies: [
                "CofferAccess", "CofferCrypto", "CofferEngines", "CofferErrorLog", "CofferFoundation", "CofferHTTP", "CofferHealth",
                "CofferMetrics", "CofferModels", "CofferRotation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio")
            ],
            swiftSettings: swiftSettings
        ),
        // The rotation engine and its routes (coffer/rotation/*, the database engine's static roles): it drives the
        // engines below it, writing new versions and logging in to the systems they describe.
        .target(
            name: "CofferRotation",
            dependencies: [
                "CofferAccess", "CofferCrypto", "CofferEngines", "CofferFoundation", "CofferHTTP", "CofferHTTPClient", "CofferKeys",
                "CofferStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types")
            ],
            swiftSettings: swiftSettings
        ),
        // The persistence suite: one target per module, each with its routes (Routes/), on the Gate (CofferAccess),
        // its HTTP side (CofferHTTP), the store and the foundation types, none importing a sibling (CofferServer
        // composes them; Docs/ARCHITECTURE.md).
        suiteModule("CofferModels", also: ["CofferCrypto"]),
        suiteModule("CofferMetrics"),
        suiteModule("CofferFeatures"),
        suiteModule("CofferErrorLog", also: ["CofferCrypto"]),
        suiteModule("CofferCache", also: [.product(name: "Logging", package: "swift-log")]),
        suiteModule("CofferHealth", also: [.product(name: "Logging", package: "swift-log")]),
        .target(
            name: "CofferKeys",
            dependencies: ["CofferCrypto", "CofferFoundation", "CofferStore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CofferStore",
            dependencies: [
                "CSQLite",
                "CLibPQ",
                "CSodium",
                "CofferFoundation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio")
            ],
            swiftSettings: swiftSettings
        ),
        // The Gate's HTTP side, shared by every route: the gated router (token, policy, audit, response
        // wrapping), request bodies, Vault's envelope and error shape, and the one mapping of errors to statuses.
        .target(
            name: "CofferHTTP",
            dependencies: [
                "CofferAccess",
                "CofferCrypto",
                "CofferFoundation",
                "CofferKeys",
                "CofferStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio")
            ],
            swiftSettings: swiftSettings
        ),
        // Vault's engines, each with its store and the routes (paths) that serve it: KV versions 1 and 2 and the
        // mount table, the database engine with its leases, response wrapping's sys/wrapping/*.
        .target(
            name: "CofferEngines",
            dependencies: [
                "CofferAccess", "CofferCrypto", "CofferFoundation", "CofferHTTP", "CofferKeys", "CofferStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio")
            ],
            swiftSettings: swiftSettings
        ),
        // Vault's system backend and auth methods, with their routes: seal, unseal, rekey and root generation
        // (Keys/), tokens and AppRole (Auth/), policies and capabilities (Policies/), the audit trail and devices
        // (Audit/), sys/health (Health/).
        .target(
            name: "CofferSystem",
            dependencies: [
                "CofferAccess", "CofferCrypto", "CofferFoundation", "CofferHTTP", "CofferKeys", "CofferStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio")
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CofferServer",
            dependencies: [
                "CofferAccess",
                "CofferConsole",
                "CofferEngines",
                "CofferCrypto",
                "CofferFoundation",
                "CofferHTTP",
                "CofferSystem",
                "CofferKeys",
                "CofferRotation",
                "CofferStore",
                "CofferCache", "CofferErrorLog", "CofferFeatures", "CofferHealth", "CofferMetrics", "CofferModels",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CofferTesting",
            dependencies: [
                "CofferFoundation",
                "CofferStore",
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CofferCLI",
            dependencies: [
                "CofferAccess",
                "CofferEngines",
                "CofferCrypto",
                "CofferErrorLog",
                "CofferFoundation",
                "CofferHTTPClient",
                "CofferKeys",
                "CofferStore",
                "CofferServer",
                "CofferSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl")
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CofferBench",
            dependencies: [
                "CofferAccess",
                "CofferEngines",
                "CofferFoundation",
                "CofferCache", "CofferErrorLog", "CofferFeatures", "CofferMetrics", "CofferModels",
                "CofferHTTP",
                "CofferSystem",
                "CofferRotation",
                "CofferServer",
                "CofferTesting",
                "CofferCrypto",
                "CofferKeys",
                "CofferStore",
                "CSodium",
                "CSQLite",
                "CLibPQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
            ],
            swiftSettings: swiftSettings
        ),
        // libFuzzer targets over every parser that takes outside input (`make fuzz`; Docs/RELIABILITY.md): the
        // targets in a library, so the committed corpus replays in `swift test`; the executable is the libFuzzer
        // driver when built with -DCOFFER_LIBFUZZER, and a replayer otherwise.
        .target(
            name: "CofferFuzzing",
            dependencies: [
                "CofferAccess", "CofferCrypto", "CofferEngines", "CofferFoundation", "CofferHTTP", "CofferRotation", "CofferStore",
                "CofferSystem",
                "CofferCache", "CofferErrorLog", "CofferFeatures", "CofferHealth", "CofferMetrics", "CofferModels",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio")
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CofferFuzz",
            dependencies: ["CofferFuzzing"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CofferFuzzingTests",
            dependencies: ["CofferFuzzing"],
            exclude: ["Corpus"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CofferConsoleTests",
            dependencies: [
                "CofferConsole", .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "PropertyBased", package: "swift-property-based")
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CofferFoundationTests",
            dependencies: ["CofferFoundation", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CofferHTTPTests",
            dependencies: [
                "CofferFoundation", "CofferHTTP", "CofferStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based")
            ],
            swiftSettings: swiftSettings
        ),
        serverTests("CofferEnginesTests", also: ["CofferEngines"]),
        serverTests("CofferErrorLogTests", also: ["CofferErrorLog"]),
        serverTests("CofferHealthTests", also: ["CofferHealth", "CofferMetrics"]),
        .testTarget(
            name: "CofferCryptoTests",
            dependencies: ["CofferCrypto", "CofferFoundation", "CofferTesting"],
            exclude: ["Vectors"],
            swiftSettings: swiftSettings
        ),
        serverTests("CofferAccessTests"),
        .testTarget(
            name: "CofferKeysTests",
            dependencies: ["CofferKeys", "CofferCrypto", "CofferFoundation", "CofferStore", "CofferTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CofferStoreTests",
            dependencies: [
                "CofferFoundation", "CofferStore", "CofferTesting", .product(name: "PropertyBased", package: "swift-property-based")
            ],
            swiftSettings: swiftSettings
        ),
        serverTests("CofferSystemTests", also: ["CofferSystem"]),
        serverTests("CofferRotationTests", also: ["CofferEngines", "CofferRotation"]),
        serverTests("CofferModelsTests", also: ["CofferModels"]),
        serverTests("CofferMetricsTests", also: ["CofferMetrics"]),
        serverTests("CofferFeaturesTests", also: ["CofferFeatures"]),
        serverTests("CofferCacheTests", also: ["CofferCache"]),
        .target(
            name: "CofferServerTesting",
            dependencies: [
                "CofferAccess", "CofferFoundation", "CofferKeys", "CofferServer", "CofferStore", "CofferTesting",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio")
            ],
            path: "Tests/CofferServerTesting",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CofferServerTests",
            dependencies: [
                "CofferAccess",
                "CofferEngines",
                "CofferCrypto",
                "CofferKeys",
                "CofferFoundation",
                "CofferCache", "CofferErrorLog", "CofferFeatures", "CofferHealth", "CofferMetrics", "CofferModels",
                "CofferHTTP",
                "CofferSystem",
                "CofferRotation",
                "CofferServer",
                "CofferStore",
                "CofferTesting",
                "CofferServerTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PropertyBased", package: "swift-property-based")
            ],
            // Python scripts run by the hvac tests, and databases an older release wrote (read by path, not bundled).
            exclude: ["Hvac", "Fixtures"],
            swiftSettings: swiftSettings
        )
    ]
)
