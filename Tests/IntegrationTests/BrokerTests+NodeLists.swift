import Foundation
import Testing

extension BrokerTests {
    /// Issue 15, clusters: a URL list whose first node is down or blackholed, on the shared
    /// broker (the second URL). The three-node failover is `ClusterFailover`.
    @Suite("URL lists: a dead or blackholed first node")
    struct NodeLists {
        /// Test 3: the first URL is a listener that accepts connections and never answers (the
        /// AMQP handshake hangs). With `WARREN_AMQP_SHUFFLE=false` the worker tries it first,
        /// gives up on it after that URL's own `connection_timeout` (1 s), and connects through
        /// the second URL, whose node its `worker.connected` line, `/readyz` and the
        /// `warren_broker_node` gauge name.
        @Test("a blackholed first URL costs one per-node deadline, then the second node connects")
        func blackholedFirstURL() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let blackhole = try await BlackholeListener.start()
            defer { blackhole.stop() }
            let dead = "amqp://guest:guest@127.0.0.1:\(blackhole.port)/?connection_timeout=1000"
            try await broker.withQueue("blackhole") { queue in
                let started = ContinuousClock.now
                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", "\(dead),\(env.amqpURL)", "--queue", queue, "--queue-type", "classic",
                          "--http-port", "0"],
                    environment: ["WARREN_AMQP_SHUFFLE": "false"])
                defer { worker.forceStop() }
                let connected = try await worker.waitForEvent("worker.connected", timeout: .seconds(30))
                let elapsed = started.duration(to: .now)
                print("blackholed first URL: connected through the second after \(elapsed.milliseconds) ms")
                #expect(connected["server"] == env.hostAndPort, "\(worker.transcript)")
                #expect(blackhole.acceptedConnections >= 1, "the blackholed node was tried first")
                // The handshake on the blackholed node is bounded by its own 1 s deadline (login
                // steps may each take it: ~2 s); the worker's default 10 s connect timeout must
                // not apply. 8 s leaves room for the process start on a loaded 2-core machine.
                #expect(elapsed < .seconds(8), "connected after \(elapsed), not within the 1 s per-node deadline:\n\(worker.transcript)")
                let failed = worker.events("connection.node_failed")
                #expect(failed.contains { $0["node"] == "127.0.0.1:\(blackhole.port)" }, "\(worker.transcript)")
                let probe = try await worker.healthProbe()
                let ready = try await probe.waitUntilReady(timeout: .seconds(20))
                #expect(ready.node == env.hostAndPort, "\(ready)")
                try await probe.waitForMetrics("warren_broker_node names the connected node") { samples in
                    samples["warren_broker_node{queue=\"\(queue)\",node=\"\(env.hostAndPort)\"}"] == 1
                        && samples["warren_broker_node{queue=\"\(queue)\",node=\"127.0.0.1:\(blackhole.port)\"}"] == 0
                }
            }
        }

        /// `warren publish` and `warren dlq` take the same URL lists: a first node that refuses
        /// connections is skipped and the second one is used.
        @Test("publish and dlq accept a URL list whose first node is down")
        func publishAndDlqSkipADeadFirstNode() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let closedPort = try unusedLoopbackPort()
            let list = "amqp://guest:guest@127.0.0.1:\(closedPort)/,\(env.amqpURL)"
            try await broker.withQueue("publist") { queue in
                let publish = try await warrenPublish(
                    env, ["--amqp-url", list, "--queue", queue, "--queue-type", "classic", "--count", "5"],
                    environment: ["WARREN_AMQP_SHUFFLE": "false"])
                #expect(PublishSummary(publish.stdout)?.confirmed == 5, "\(publish)")
                let stats = try await runTool(
                    env.warrenBinary, ["dlq", "stats", "--amqp-url", list, "--queue", queue, "--queue-type", "classic"],
                    environment: ["WARREN_AMQP_SHUFFLE": "false"], removingEnvironment: { $0.hasPrefix("WARREN_") })
                #expect(stats.succeeded, "\(stats)")
                #expect(try await broker.pikaGet(queue: queue).count == 5)
            }
        }
    }
}
