import Foundation
import Testing

extension BrokerTests {
    @Suite("Draining on SIGTERM: readiness, the shutdown deadline, a second signal")
    struct Shutdown {
        /// Starts a worker on a classic queue (exact counts), waits until it is ready, publishes one
        /// message with pika and waits until its handler runs (`warren_messages_in_flight` 1;
        /// handler starts are not logged).
        static func workerRunningOneHandler(
            _ env: TestEnvironment, _ broker: Broker, queue: String, messageID: String, body: String,
            _ arguments: [String] = []
        ) async throws -> (worker: WarrenProcess, probe: HealthProbe) {
            let worker = try WarrenProcess.worker(
                env, queue: queue, ["--queue-type", "classic", "--log-level", "debug"] + arguments)
            do {
                let probe = try await worker.healthProbe()
                try await probe.waitUntilReady(timeout: .seconds(20))
                try await broker.pikaPublish(queue: queue, messages: [(messageID, body)])
                // From /metrics, not `rabbitmqctl`: on a loaded machine one `rabbitmqctl` call
                // (an Erlang VM) took 2.5 s, and polling through it outlived a 6 s handler.
                _ = try await probe.waitForMetrics(timeout: .seconds(15), interval: .milliseconds(20), "the handler running") {
                    $0[#"warren_messages_in_flight{queue="\#(queue)"}"#] == 1
                }
                return (worker, probe)
            } catch {
                worker.forceStop()
                throw error
            }
        }

        /// SIGTERM while a 6 s handler runs: `/readyz` turns 503 `draining` (and `/healthz` stays
        /// 200) during the drain, the handler finishes and its message is acked, the process exits 0.
        @Test("during a drain /readyz is 503 draining; the running handler finishes and is acked")
        func readinessWhileDraining() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("drain") { queue in
                let id = "drain-\(uniqueSuffix())"
                let (worker, probe) = try await Self.workerRunningOneHandler(
                    env, broker, queue: queue, messageID: id, body: #"{"work_ms": 6000}"#)
                defer { worker.forceStop() }

                let signalled = ContinuousClock.now
                worker.send(SIGTERM)
                var last = ""
                let draining = try await pollValue(
                    timeout: .seconds(3), interval: .milliseconds(20), "/readyz to answer 503 draining",
                    lastSeen: { last }
                ) {
                    let (response, readiness) = try await probe.readyz()
                    last = "\(response)"
                    return response.status == 503 && readiness?.state == "draining" ? readiness : nil
                }
                #expect(draining.ready == false)
                let health = try await probe.healthz()
                #expect(health.status == 200, "alive while draining: \(health)")

                let drainingLine = try await worker.waitForEvent("worker.draining", timeout: .seconds(5))
                #expect(drainingLine["in_flight"] == "1", "\(drainingLine)")

                let end = try await worker.waitForExit(timeout: .seconds(20))
                let elapsed = signalled.duration(to: .now)
                #expect(end == .exited(0), "\(worker.transcript)")
                #expect(elapsed < .seconds(15), "drained in \(elapsed) (handler needed < 6 s)")
                #expect(worker.ackedIDs == [id], "the running handler finished and was acked\n\(worker.transcript)")
                let drained = worker.events("worker.drained")
                #expect(drained.count == 1 && drained.first?["returned"] != nil && drained.first?["duration_ms"] != nil,
                        "\(worker.transcript)")
                #expect(worker.events("worker.shutdown_timeout").isEmpty, "\(worker.transcript)")
                #expect(!worker.events("worker.stopped").isEmpty, "\(worker.transcript)")
                try await broker.waitForCounts(of: queue, timeout: .seconds(10), "empty") {
                    $0.messages == 0 && $0.unacknowledged == 0
                }
            }
        }

        /// `--shutdown-timeout 2s` and a 30 s handler: at the deadline the handler is cancelled, its
        /// message is left unacked (`message.abandoned`, `worker.shutdown_timeout` with abandoned 1),
        /// the process exits 0 at the deadline (2–10 s after the signal, never the handler's 30 s), and the broker redelivers the message.
        @Test("at the shutdown deadline the handler is abandoned, exit 0, the message is redelivered")
        func shutdownDeadline() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("deadline") { queue in
                let id = "deadline-\(uniqueSuffix())"
                let (worker, _) = try await Self.workerRunningOneHandler(
                    env, broker, queue: queue, messageID: id, body: #"{"work_ms": 30000}"#,
                    ["--shutdown-timeout", "2s"])
                defer { worker.forceStop() }

                let (end, elapsed) = try await worker.stop(with: SIGTERM, timeout: .seconds(15))
                #expect(end == .exited(0), "\(worker.transcript)")
                // At least the 2 s deadline: the drain waited for the handler. At most 10 s: an exit
                // that waited for the 30 s handler instead would take 30 s, while the deadline, up
                // to 2 s of log flush at exit and a loaded 2-core machine's scheduling fit in 10 s.
                #expect(elapsed >= .milliseconds(1800) && elapsed <= .seconds(10),
                        "exited \(elapsed.milliseconds) ms after SIGTERM (deadline 2 s)\n\(worker.transcript)")

                let timeoutLine = worker.events("worker.shutdown_timeout")
                #expect(timeoutLine.count == 1 && timeoutLine.first?["abandoned"] == "1", "\(worker.transcript)")
                let abandoned = worker.events("message.abandoned")
                #expect(abandoned.map { $0["message_id"] } == [id], "\(worker.transcript)")
                #expect(worker.ackedIDs.isEmpty, "an abandoned message is not acked\n\(worker.transcript)")
                #expect(worker.events("message.dead_lettered").isEmpty, "\(worker.transcript)")

                // The broker requeued it when the connection closed: the next consumer sees it as redelivered.
                let received = try await pollValue(timeout: .seconds(10), interval: .milliseconds(500), "the message back in the queue") {
                    let messages = try await broker.pikaGet(queue: queue, max: 5)
                    return messages.isEmpty ? nil : messages
                }
                #expect(received.map(\.message_id) == [id])
                #expect(received.first?.redelivered == true, "\(received)")
            }
        }

        /// A second signal during the drain skips it: exit 0 long before the handler's 30 s or the
        /// 25 s deadline, with a `worker.drain_abandoned` line; the unacked message goes back to
        /// the queue.
        @Test("a second signal during the drain exits 0 at once; the message goes back to the queue")
        func secondSignalSkipsDrain() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("second") { queue in
                let id = "second-\(uniqueSuffix())"
                let (worker, _) = try await Self.workerRunningOneHandler(
                    env, broker, queue: queue, messageID: id, body: #"{"work_ms": 30000}"#)
                defer { worker.forceStop() }

                worker.send(SIGTERM)
                try await worker.waitForEvent("worker.draining", timeout: .seconds(5))
                #expect(worker.isRunning, "still draining the 30 s handler")
                let (end, elapsed) = try await worker.stop(with: SIGINT, timeout: .seconds(20))
                #expect(end == .exited(0), "\(worker.transcript)")
                // Skipping the drain means not waiting for the 30 s handler nor the 25 s deadline.
                // 10 s, not ~1 s: the log writer may take up to 2 s to flush at exit, and a loaded
                // 2-core machine adds its own delays; the bound still tells a skipped drain from one
                // that ran to its deadline.
                #expect(elapsed <= .seconds(10), "exited \(elapsed.milliseconds) ms after the second signal")
                #expect(worker.ackedIDs.isEmpty, "\(worker.transcript)")
                // The state machine's `.abandonDrain`, as the worker carries it out: one line
                // naming the drain cut short by the signal (not the deadline) and what it left.
                let abandoned = worker.events("worker.drain_abandoned")
                #expect(abandoned.count == 1, "\(worker.transcript)")
                #expect(abandoned.first?["abandoned"] == "1", "\(worker.transcript)")
                #expect(worker.events("worker.shutdown_timeout").isEmpty, "\(worker.transcript)")

                let received = try await pollValue(timeout: .seconds(10), interval: .milliseconds(500), "the message back in the queue") {
                    let messages = try await broker.pikaGet(queue: queue, max: 5)
                    return messages.isEmpty ? nil : messages
                }
                #expect(received.map(\.message_id) == [id])
                #expect(received.first?.redelivered == true, "\(received)")
            }
        }
    }
}
