import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension BrokerTests {
    /// The outcome counters of `/metrics` that no other test reads, driven by a real scenario
    /// each and read from the live endpoint of the worker it happened in.
    @Suite("Metrics: isolated and abandoned messages")
    struct MetricsOutcomes {
        private func series(_ name: String, _ queue: String) -> String { #"\#(name){queue="\#(queue)"}"# }

        /// Waits until `worker` is running one handler (its in-flight gauge reads 1).
        private func waitForHandler(_ worker: WarrenProcess, _ probe: HealthProbe, _ queue: String) async throws {
            try await probe.waitForMetrics(timeout: .seconds(20), "one handler running") {
                $0[series("warren_messages_in_flight", queue)] == 1
            }
        }

        /// A message that was running when a worker died comes back redelivered; the next
        /// worker runs it beside others under a crash marker; when that worker dies too, the
        /// third runs it alone: `warren_messages_isolated_total` is 0 on the second worker and
        /// 1 on the third, with its `message.isolated` line (crashes 0).
        @Test("warren_messages_isolated_total counts a suspect handled alone")
        func isolatedCounted() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("metrics-isolated") { queue in
                let id = "suspect-\(uniqueSuffix())"
                try await env.declareTopology(queue)
                try await broker.pikaPublish(queue: queue, [OutgoingMessage(id: id, body: #"{"work_ms": 120000}"#)])
                let isolated = series("warren_messages_isolated_total", queue)
                try await withCleanup {
                    // Two deaths while it runs: the first unmarked, the second under its marker.
                    for run in 1...2 {
                        let worker = try WarrenProcess.worker(env, queue: queue, ["--queue-type", "classic"])
                        defer { worker.forceStop() }
                        let probe = try await worker.healthProbe()
                        try await waitForHandler(worker, probe, queue)
                        let (_, samples) = try await probe.waitForMetrics("the isolated counter") { $0[isolated] != nil }
                        #expect(samples[isolated] == 0, "run \(run) is not alone yet")
                        worker.send(SIGKILL)
                        try await worker.waitForExit()
                    }
                    let third = try WarrenProcess.worker(env, queue: queue, ["--queue-type", "classic"])
                    defer { third.forceStop() }
                    let probe = try await third.healthProbe()
                    try await probe.waitForMetrics(timeout: .seconds(20), "\(isolated) 1") { $0[isolated] == 1 }
                    let line = try await third.waitForEvent("message.isolated")
                    #expect(line["message_id"] == id && line["crashes"] == "0", "\(line)")
                } cleanup: {
                    // The marker queue of the message outlives the test otherwise (it expires after a day).
                    let markers = (try? await broker.listQueues().keys.filter { $0.hasPrefix(queue + ".crash.") }) ?? []
                    await broker.delete(queues: Array(markers))
                }
            }
        }

        /// A handler still running when its connection is closed by the broker cannot be acked
        /// (its delivery tag died): `warren_messages_abandoned_total` reads 1 on the live worker,
        /// beside its `message.abandoned` line, and the broker gives the message back (acked then).
        @Test("warren_messages_abandoned_total counts a message whose connection died under it")
        func abandonedCounted() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("metrics-abandoned") { queue in
                try await abandonOne(env, broker, queue)
            }
        }

        /// The scenario of `abandonedCounted`, as a method: as a closure passed to `withQueue` it
        /// crashes the Swift 6.3.1 compiler (SendNonSendable pass).
        private func abandonOne(_ env: TestEnvironment, _ broker: Broker, _ queue: String) async throws {
            let id = "abandoned-\(uniqueSuffix())"
            let worker = try WarrenProcess.worker(env, queue: queue, ["--queue-type", "classic", "--log-level", "debug"])
            defer { worker.forceStop() }
            let probe = try await worker.healthProbe()
            try await worker.waitForEvent("worker.consuming")
            // The connection is looked up before the message is published, so only the close
            // runs while the handler does: on a loaded machine rabbitmqctl calls took seconds
            // each, the handler finished first and nothing was abandoned. The handler is long for
            // the same reason (with the machine's two cores kept busy besides, a close once came
            // after 10 s, and once after 15 s); the redelivery runs as long.
            guard let connection = try await broker.connection(ofProcess: worker.child.pid) else {
                throw SetupError("no broker connection named after the worker's pid \(worker.child.pid)")
            }
            try await broker.pikaPublish(queue: queue, [OutgoingMessage(id: id, body: #"{"work_ms": 30000}"#)])
            try await waitForHandler(worker, probe, queue)
            try await broker.closeConnection(connection, reason: "it: abandon the running handler")
            let abandoned = series("warren_messages_abandoned_total", queue)
            // Counted when the handler ends with its delivery tag dead: at the latest when its
            // 30 s are up, however late the close came.
            try await probe.waitForMetrics(timeout: .seconds(45), "\(abandoned) 1") { $0[abandoned] == 1 }
            let line = try await worker.waitForEvent("message.abandoned")
            #expect(line["message_id"] == id, "\(line)")

            // Redelivered on the new connection and acked: the counter meant "redelivered", not lost.
            try await poll(timeout: .seconds(75), "the redelivery acked", lastSeen: { worker.transcript }) {
                worker.ackedIDs.contains(id)
            }
            let acked = series("warren_messages_acked_total", queue)
            let final = try await probe.waitForMetrics("the ack counted") { $0[acked] == 1 }
            #expect(final.samples[abandoned] == 1, "abandoned once, not again")
        }
    }
}
