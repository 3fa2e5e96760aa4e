import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A three-node RabbitMQ cluster of the suite's own on loopback, for the failover test.
///
/// Three `scripts/broker.sh` nodes (each its own directory, ports and node name) sharing an
/// Erlang cookie and one epmd (`BROKER_COOKIE`, `BROKER_EPMD_PORT`); the second and third
/// `join_cluster` the first. Started once, lazily, by the first test that asks; destroyed when
/// the suite carrying `.ownCluster` ends, whether its tests passed, failed or threw. Its
/// directories live beside `OwnBroker`'s (`<pid>-…`), so a test process that died leaves
/// nothing that the next run's `OwnBroker.destroyLeftovers` does not remove.
actor OwnCluster {
    @TaskLocal static var current: OwnCluster?

    let directories: [String]
    /// Each node's `WARREN_AMQP_URL`, once started.
    private(set) var urls: [String] = []
    private var started = false

    init(size: Int = 3) {
        let base = "\(OwnBroker.parentDirectory)/\(getpid())-cluster\(uniqueSuffix())"
        directories = (1...size).map { "\(base)-n\($0)" }
    }

    static func required() throws -> OwnCluster {
        guard let current else { throw SetupError("this test needs its own cluster: put it in a suite with the .ownCluster trait") }
        return current
    }

    /// Starts the nodes one after the other and joins the others to the first; once per suite.
    func start() async throws {
        guard !started else { return }
        started = true
        try FileManager.default.createDirectory(atPath: OwnBroker.parentDirectory, withIntermediateDirectories: true)
        let environment = [
            "BROKER_START_TIMEOUT": "150", "BROKER_COOKIE": "warren-it-cookie-\(uniqueSuffix())",
            "BROKER_EPMD_PORT": "\(try unusedLoopbackPort())",
        ]
        // One node after the other. Started at once, all three found no epmd and each spawned
        // one (a start whose epmd lost the port before the winner answered gives up), and
        // ChildProcess's pipes are only safe from inheritance when children are spawned one at
        // a time (see makePipe). One CI run failed here with a node start's stdout held open
        // by another process; starting in sequence costs ~20 s and removes both races.
        for directory in directories {
            let result = try await Self.brokerScript(["start", directory], environment: environment, timeout: .seconds(200))
            guard result.succeeded else { throw SetupError("could not start a cluster node:\n\(result)") }
        }
        var urls: [String] = []
        for directory in directories {
            let env = try String(contentsOfFile: directory + "/env", encoding: .utf8)
            guard let match = env.firstMatch(of: /export WARREN_AMQP_URL=(\S+)/) else { throw SetupError("no URL in \(directory)/env") }
            urls.append(String(match.1))
        }
        self.urls = urls
        let first = try nodeName(0)
        for index in directories.indices.dropFirst() {
            for arguments in [["stop_app"], ["join_cluster", first], ["start_app"]] {
                let result = try await ctl(index, arguments)
                guard result.succeeded else { throw SetupError("could not join node \(index + 1) to the cluster:\n\(result)") }
            }
        }
    }

    /// The Erlang node name of node `index` (`warren-…@localhost`).
    func nodeName(_ index: Int) throws -> String {
        let env = try String(contentsOfFile: directories[index] + "/env", encoding: .utf8)
        guard let match = env.firstMatch(of: /export RABBITMQ_NODENAME=(\S+)/) else { throw SetupError("no node name") }
        return String(match.1)
    }

    /// The environment that points the tools (pika, `warren`) at node `index`.
    func environment(_ index: Int, base: TestEnvironment) -> TestEnvironment {
        TestEnvironment(amqpURL: urls[index], rabbitmqctl: directories[index] + "/rabbitmqctl", warrenBinary: base.warrenBinary)
    }

    func ctl(_ index: Int, _ arguments: [String]) async throws -> ToolResult {
        try await runTool(directories[index] + "/rabbitmqctl", arguments, timeout: .seconds(90))
    }

    /// Stops node `index` gracefully (its clients get `320 CONNECTION_FORCED`).
    func stop(_ index: Int) async throws {
        let result = try await Self.brokerScript(["stop", directories[index]], environment: [:], timeout: .seconds(60))
        guard result.succeeded else { throw SetupError("could not stop cluster node \(index + 1):\n\(result)") }
    }

    /// Stops every node and deletes its directory; never throws.
    func destroy() async {
        for directory in directories where FileManager.default.fileExists(atPath: directory) {
            let result = try? await Self.brokerScript(["destroy", directory], environment: [:], timeout: .seconds(90))
            if result?.succeeded != true || FileManager.default.fileExists(atPath: directory) {
                print("integration tests: could not destroy cluster node \(directory): \(result.map { "\($0)" } ?? "no result")")
            }
        }
    }

    private static func brokerScript(_ arguments: [String], environment: [String: String], timeout: Duration) async throws -> ToolResult {
        try await runTool(OwnBroker.repositoryRoot() + "/scripts/broker.sh", arguments, environment: environment, timeout: timeout)
    }
}

/// Gives a suite its own three-node cluster (see `OwnCluster`), destroyed when the suite ends.
struct OwnClusterTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        await OwnBroker.destroyLeftovers()
        let cluster = OwnCluster()
        try await withCleanup {
            try await OwnCluster.$current.withValue(cluster) { try await function() }
        } cleanup: {
            await cluster.destroy()
        }
    }
}

extension Trait where Self == OwnClusterTrait {
    /// The suite gets its own three-node cluster, `OwnCluster.current`.
    static var ownCluster: Self { Self() }
}
