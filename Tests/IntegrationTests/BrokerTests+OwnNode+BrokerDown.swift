import Foundation
import Testing

extension BrokerTests.OwnNode {
    /// A worker started while its broker is down answers health at once and says why it is not
    /// ready; `warren healthcheck` fails on readiness and passes on liveness; when the broker comes
    /// up the worker connects by itself, `warren healthcheck` passes, and it drains the queue that
    /// was filled before the outage (durable queue, persistent messages).
    @Test("started while the broker is down: not ready, then ready by itself and drains the queue")
    func startedWhileBrokerDown() async throws {
        let node = try OwnBroker.required()
        let env = try await node.running(TestEnvironment.current())
        let broker = Broker(env)
        try await broker.withQueue("down") { queue in
            let total = 200
            let publish = try await warrenPublish(
                env, ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--count", "\(total)",
                      "--body", #"{"work_ms": 5}"#])
            try #require(PublishSummary(publish.stdout)?.confirmed == total, "\(publish)")
            try await node.stop()

            let worker = try WarrenProcess.worker(
                env, queue: queue,
                ["--queue-type", "classic", "--log-level", "debug",
                 "--reconnect-initial-delay", "200ms", "--reconnect-max-delay", "1s"])
            defer { worker.forceStop() }
            let probe = try await worker.healthProbe()
            #expect(try await probe.healthz().status == 200)
            var last = ""
            let notReady = try await pollValue(
                timeout: .seconds(10), "/readyz to say the connection was refused", lastSeen: { last }
            ) {
                let (response, readiness) = try await probe.readyz()
                last = "\(response)"
                #expect(response.status == 503, "\(response)")
                return readiness?.reason?.lowercased().contains("refused") == true ? readiness : nil
            }
            #expect(notReady.state == "reconnecting", "\(notReady)")
            let unready = try await warrenHealthcheck(env, ["--http-port", "\(probe.port)"])
            #expect(unready.termination != .exited(0), "healthcheck fails while not ready: \(unready)")
            let live = try await warrenHealthcheck(env, ["--http-port", "\(probe.port)", "--live"])
            #expect(live.termination == .exited(0), "healthcheck --live passes: \(live)")

            let restarting = ContinuousClock.now
            try await node.start()
            let upAfter = restarting.duration(to: .now)
            var lastCheck = ""
            try await poll(timeout: .seconds(30), interval: .milliseconds(500), "`warren healthcheck` to pass", lastSeen: { lastCheck }) {
                let result = try await warrenHealthcheck(env, ["--http-port", "\(probe.port)"])
                lastCheck = "\(result)"
                return result.termination == .exited(0)
            }
            print("broker down at start: node up after \(upAfter), worker ready \(restarting.duration(to: .now)) after the start began")
            // More attempts than the default --max-refused-attempts (5): a refused TCP connection
            // is transient and never counts towards giving up.
            #expect((worker.lastConnectAttempt ?? 0) > 5, "it kept retrying\n\(worker.transcript)")
            // Readiness can run ahead of the log writer thread by a moment: await the lines.
            try await worker.waitForEvent("worker.connected", timeout: .seconds(5))
            try await worker.waitForEvent("worker.consuming", timeout: .seconds(5))

            try await poll(timeout: .seconds(30), "the \(total) prefilled messages acked", lastSeen: { "\(Set(worker.ackedIDs).count) acked" }) {
                Set(worker.ackedIDs).count >= total
            }
            #expect(worker.ackedIDs.count == total, "each acked once")
            try await broker.waitForCounts(of: queue, timeout: .seconds(15), "empty") {
                $0.messages == 0 && $0.unacknowledged == 0
            }
            let (end, _) = try await worker.stop(with: SIGTERM, timeout: .seconds(20))
            #expect(end == .exited(0), "\(worker.transcript)")
        }
    }
}
