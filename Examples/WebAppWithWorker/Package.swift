// swift-tools-version: 6.1
import PackageDescription

// An existing Hummingbird web app with a Warren consumer added to its ServiceGroup.
// A package of its own that depends on Warren exactly as a user's package would.
let package = Package(
    name: "WebAppWithWorker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "WebAppWithWorker", targets: ["WebAppWithWorker"]),
    ],
    dependencies: [
        // Warren from this repository. A path dependency's identity is its directory name
        // ("main", "warren", "warren-ci"…); the explicit name makes `package: "Warren"` below
        // work whatever the checkout is called.
        .package(name: "Warren", path: "../.."),
        // As in Warren's own manifest: no default traits ("FullFoundation" links Foundation and ICU).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // For the registry type that /metrics serves (WarrenMetrics.bootstrap() returns it).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "WebAppWithWorker",
            dependencies: [
                .product(name: "Warren", package: "Warren"),
                // WorkerHost and the Prometheus bootstrap: Warren's process shape (health server, signals).
                .product(name: "WarrenHosting", package: "Warren"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
