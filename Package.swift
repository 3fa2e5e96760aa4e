// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Warren",
    platforms: [.macOS(.v15)],
    products: [
        // The reusable consumer (the AMQP layer re-exported), for users who write their own
        // handlers and run them in a process of their own. Lean on purpose: no HTTP server, no
        // Prometheus, no SwiftNIO (scripts/check-lean-library.sh, in `make lint`, keeps it so).
        .library(name: "Warren", targets: ["Warren"]),
        // Warren's process shape on top: the health/metrics HTTP server (Hummingbird), the
        // Prometheus bootstrap, systemd notify and `WorkerHost`.
        .library(name: "WarrenHosting", targets: ["WarrenHosting"]),
        .executable(name: "warren", targets: ["WarrenCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // No default traits: "FullFoundation" would link Foundation and ICU (~40 MB) into warren.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.3.0"),
        // Deque for FIFO queues (waiters, outstanding confirms): already in the graph through
        // swift-service-lifecycle's swift-async-algorithms, so no new download. WarrenAMQP
        // stays on swift-log alone (its fuzz targets build it with swiftc and nothing else).
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        // W3C traceparent parsing and ids, without a tracer (swift-otel builds for ~7 min: users
        // who export spans bootstrap it in their own executable).
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context", from: "1.0.0"),
        // Layered settings for the executable only (flags > environment > a JSON file > defaults):
        // the `Warren` library stays provider-agnostic (`SettingsResolver`'s layers). No traits,
        // not even the default `JSON`: its `JSONSerialization`, like the `YAML` trait's Yams, links
        // full Foundation and ICU (+44 MB static); warren parses its JSON file with
        // FoundationEssentials' JSONDecoder and refuses YAML (Docs/configuration.md).
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: []),
        // `make docs`: the DocC catalog (Sources/Warren/Warren.docc); a command plugin, not linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // librabbitmq (rabbitmq-c) and nothing else.
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"]), .brew(["rabbitmq-c"])]
        ),
        // Safe wrapper: one owner thread per connection makes every C call.
        .target(
            name: "WarrenAMQP",
            dependencies: [
                "CRabbitMQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The worker: consumer service, topology, handlers, retries, scheduled jobs,
        // configuration, logging, metrics through the swift-metrics API only. Nothing here may
        // pull in Hummingbird, swift-prometheus or SwiftNIO: that is WarrenHosting's.
        .target(
            name: "Warren",
            dependencies: [
                "WarrenAMQP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ]
        ),
        // Warren's process shape: health/metrics HTTP server, Prometheus bootstrap, systemd
        // notify, signal handling (`WorkerHost`), the `warren healthcheck` HTTP probe.
        .target(
            name: "WarrenHosting",
            dependencies: [
                "Warren",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The `warren` executable (named WarrenCLI so it cannot collide with `Warren`
        // on case-insensitive file systems).
        .executableTarget(
            name: "WarrenCLI",
            dependencies: [
                "Warren", "WarrenHosting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        .testTarget(
            name: "WarrenAMQPTests",
            dependencies: ["WarrenAMQP", "CRabbitMQ", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "WarrenTests", dependencies: ["Warren", .product(name: "MetricsTestKit", package: "swift-metrics")]),
        .testTarget(
            name: "WarrenHostingTests",
            dependencies: [
                "WarrenHosting", "Warren",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Unit tests of the executable's own logic (exit codes, parsing): `@testable import WarrenCLI`.
        .testTarget(
            name: "WarrenCLITests",
            dependencies: [
                "WarrenCLI", "Warren", "WarrenHosting", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        // Real-broker tests: they need the broker started by `make test` (see scripts/broker.sh)
        // and run the built `warren` binary as a child process.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Warren", "WarrenAMQP", "WarrenHosting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
