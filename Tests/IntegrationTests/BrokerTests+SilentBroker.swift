import Foundation
import Testing

extension BrokerTests {
    @Suite("A broker that goes silent without closing the connection")
    struct SilentBroker {
        /// The README promises that two missed heartbeat intervals end a connection like any other
        /// loss. The worker reaches the broker through a proxy that then blackholes the established
        /// connection: no byte passes either way and neither end sees an error, as when a host or
        /// route dies. With `--heartbeat 1` the worker must give the connection up on its own
        /// (`worker.connection_lost`, missed heartbeats), reconnect (the proxy relays new
        /// connections) and keep consuming: a message published afterwards is acked, the broker
        /// holds nothing.
        @Test("a blackholed connection is given up after missed heartbeats; the worker reconnects and keeps consuming")
        func reconnectsAfterMissedHeartbeats() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let proxy = try await TCPProxy.start(to: env)
            defer { proxy.stop() }
            try await broker.withQueue("silent-broker") { queue in
                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", proxy.url(env), "--queue", queue, "--queue-type", "classic", "--heartbeat", "1",
                     "--log-level", "debug"])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")
                let before = "silent-before-\(uniqueSuffix())"
                try await broker.pikaPublish(queue: queue, messages: [(before, "{}")])
                try await poll(timeout: .seconds(20), "\(before) acked", lastSeen: { worker.transcript }) {
                    worker.ackedIDs.contains(before)
                }

                try await proxy.blackhole()
                let lost = try await worker.waitForEvent("worker.connection_lost", timeout: .seconds(30))
                // Warren's own check (`AMQPError.heartbeatTimeout`), not librabbitmq's later backstop
                // ("heartbeat timeout"): both wait two intervals, and the connection loop makes
                // Warren's check right after each poll, before librabbitmq's on the next read.
                #expect(lost["error"]?.contains("missed heartbeats") == true, "\(lost)")

                try await poll(timeout: .seconds(30), "consuming again on a new connection", lastSeen: { worker.transcript }) {
                    worker.events("worker.consuming").count == 2
                }
                #expect(proxy.relayedConnections == 2, "one connection before the blackhole, one after")
                let after = "silent-after-\(uniqueSuffix())"
                try await broker.pikaPublish(queue: queue, messages: [(after, "{}")])
                try await poll(timeout: .seconds(20), "\(after) acked", lastSeen: { worker.transcript }) {
                    worker.ackedIDs.contains(after)
                }
                try await broker.waitForCounts(of: queue, "nothing ready or unacked") { $0.ready == 0 && $0.unacknowledged == 0 }
                #expect(worker.ackedIDs == [before, after], "\(worker.transcript)")

                let (end, _) = try await worker.stop()
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }
    }
}
