// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "OrderWorker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "OrderWorker", targets: ["OrderWorker"]),
    ],
    dependencies: [
        // A path dependency's identity is its directory's name ("main", "warren-ci", …), which
        // this manifest cannot know; `name:` lets `package: "Warren"` below match in any checkout.
        .package(name: "Warren", path: "../.."),
        // The same URLs and versions as Warren's own manifest, so both resolve to one copy.
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "OrderWorker",
            dependencies: [
                .product(name: "Warren", package: "Warren"),
                // WorkerHost and the Prometheus bootstrap: Warren's process shape (health server, signals).
                .product(name: "WarrenHosting", package: "Warren"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The program of the DocC article "Getting started" (Sources/Warren/Warren.docc), built
        // here so that the article's code compiles; scripts/check-docs-code.sh (make lint) keeps
        // the two equal. A target without a declared product: OrderWorker stays the package's program.
        // (The dependency list repeats OrderWorker's on purpose: each target's list changes alone.)
        .executableTarget(
            name: "GettingStarted",
            dependencies: [
                .product(name: "Warren", package: "Warren"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
