import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A RabbitMQ node of the suite's own, for tests that stop, restart or otherwise disturb the
/// broker, so that the shared test broker stays up for everyone else.
///
/// Made by `scripts/broker.sh` in `/tmp/warren-it-nodes/<test process id>-<random>`, started
/// lazily by the first test that asks for it (a start costs 10–20 s, up to ~60 s on a busy
/// machine), and destroyed when the suite that carries the `.ownBroker` trait ends, whether its
/// tests passed, failed or threw. Nodes left behind by a test process that died (SIGKILL, crash)
/// are destroyed at the start of the next run.
///
///     @Suite(.ownBroker) struct Chaos {
///         @Test func restart() async throws {
///             let node = try OwnBroker.required()
///             let env = try await node.running(TestEnvironment.current())
///             try await node.stop()
///             try await node.start()
///         }
///     }
actor OwnBroker {
    /// The node of the suite being run, set by the `.ownBroker` trait.
    @TaskLocal static var current: OwnBroker?

    /// Parent directory of every node made by this support code.
    static let parentDirectory = "/tmp/warren-it-nodes"

    let directory: String
    /// Extra variables for `scripts/broker.sh`, e.g. `BROKER_TLS_DIR` (see `TLSBroker`).
    let scriptEnvironment: [String: String]
    private var url: String?
    private(set) var isRunning = false

    init(scriptEnvironment: [String: String] = [:]) {
        directory = "\(Self.parentDirectory)/\(getpid())-\(uniqueSuffix())"
        self.scriptEnvironment = scriptEnvironment
    }

    /// The node of the current suite, or a setup error if the suite lacks the `.ownBroker` trait.
    static func required() throws -> OwnBroker {
        guard let current else {
            throw SetupError("this test needs its own broker node: put it in a suite with the .ownBroker trait")
        }
        return current
    }

    /// The environment for the running node (started now if it is not running), with `base`'s
    /// `warren` binary.
    func running(_ base: TestEnvironment) async throws -> TestEnvironment {
        if !isRunning { try await start() }
        return try environment(base)
    }

    /// The environment for the node, running or not (it must have been started once).
    func environment(_ base: TestEnvironment) throws -> TestEnvironment {
        guard let url else { throw SetupError("own broker node in \(directory) was never started") }
        return TestEnvironment(amqpURL: url, rabbitmqctl: directory + "/rabbitmqctl", warrenBinary: base.warrenBinary)
    }

    /// Starts the node (the first call creates it; later calls restart it with the same name,
    /// ports and data).
    func start() async throws {
        try FileManager.default.createDirectory(atPath: Self.parentDirectory, withIntermediateDirectories: true)
        let result = try await Self.brokerScript(["start", directory], timeout: .seconds(200), environment: scriptEnvironment)
        guard result.succeeded else {
            throw SetupError("could not start the test's own broker node:\n\(result)")
        }
        let env = try String(contentsOfFile: directory + "/env", encoding: .utf8)
        guard let match = env.firstMatch(of: /export WARREN_AMQP_URL=(\S+)/) else {
            throw SetupError("no WARREN_AMQP_URL in \(directory)/env")
        }
        url = String(match.1)
        isRunning = true
    }

    /// Stops the node gracefully (clients get 320 CONNECTION_FORCED), keeping its data.
    func stop() async throws {
        let result = try await Self.brokerScript(["stop", directory], timeout: .seconds(60))
        guard result.succeeded else { throw SetupError("could not stop the own broker node:\n\(result)") }
        isRunning = false
    }

    /// Stops the node and deletes its directory; never throws.
    func destroy() async {
        guard FileManager.default.fileExists(atPath: directory) else { return }
        do {
            let result = try await Self.brokerScript(["destroy", directory], timeout: .seconds(90))
            if !result.succeeded || FileManager.default.fileExists(atPath: directory) {
                print("integration tests: could not destroy \(directory):\n\(result)")
            }
        } catch {
            print("integration tests: could not destroy \(directory): \(error)")
        }
        isRunning = false
    }

    /// Destroys nodes whose test process is gone (the directory name starts with its pid).
    static func destroyLeftovers() async {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: parentDirectory)) ?? []
        for entry in entries {
            guard let pid = entry.split(separator: "-").first.flatMap({ Int32($0) }), pid != getpid() else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }  // its test process still runs
            print("integration tests: destroying broker node \(parentDirectory)/\(entry) left by process \(pid)")
            _ = try? await brokerScript(["destroy", "\(parentDirectory)/\(entry)"], timeout: .seconds(90))
        }
    }

    /// A variable the node's `env` file exports (e.g. `WARREN_TEST_AMQPS_PORT`).
    func exported(_ name: String) throws -> String {
        let env = try String(contentsOfFile: directory + "/env", encoding: .utf8)
        guard let line = env.split(separator: "\n").first(where: { $0.hasPrefix("export \(name)=") }) else {
            throw SetupError("no \(name) in \(directory)/env")
        }
        return String(line.dropFirst("export \(name)=".count))
    }

    private static func brokerScript(
        _ arguments: [String], timeout: Duration, environment: [String: String] = [:]
    ) async throws -> ToolResult {
        try await runTool(
            repositoryRoot() + "/scripts/broker.sh", arguments,
            environment: environment.merging(["BROKER_START_TIMEOUT": "150"]) { $1 }, timeout: timeout)
    }

    /// The package root, from this file's path: `<root>/Tests/IntegrationTests/Support/OwnBroker.swift`.
    static func repositoryRoot(filePath: String = #filePath) -> String {
        var root = URL(fileURLWithPath: filePath)
        for _ in 0..<4 { root.deleteLastPathComponent() }
        return root.path
    }
}

/// Gives a suite its own broker node (see `OwnBroker`): created lazily, destroyed when the
/// suite ends, even when its tests fail.
struct OwnBrokerTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        await OwnBroker.destroyLeftovers()
        let node = OwnBroker()
        try await withCleanup {
            try await OwnBroker.$current.withValue(node) { try await function() }
        } cleanup: {
            await node.destroy()
        }
    }
}

extension Trait where Self == OwnBrokerTrait {
    /// The suite gets its own RabbitMQ node, `OwnBroker.current`.
    static var ownBroker: Self { Self() }
}
