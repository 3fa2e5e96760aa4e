import Foundation
import Testing

extension BrokerTests {
    @Suite("Crash guard cost of a redelivery wave")
    struct CrashGuardChurn {
        /// Queues created and messages published on the whole broker so far (its own counters:
        /// `connection_churn_metrics` and `rabbit_global_counters`). The suites are serialized,
        /// so between two readings only this test's worker acts.
        static func brokerTotals(_ broker: Broker) async throws -> (queuesCreated: Int, published: Int) {
            let result = try await broker.rabbitmqctl(["eval", """
                [{_, _, _, _, _, _, Created, _}] = ets:tab2list(connection_churn_metrics),
                Published = maps:get(messages_received_total, maps:get([{protocol, amqp091}], rabbit_global_counters:overview())),
                io:format("~b ~b~n", [Created, Published]).
                """])
            let numbers = result.stdout.split(whereSeparator: \.isWhitespace).prefix(2).compactMap { Int($0) }
            guard numbers.count == 2 else { throw SetupError("unexpected rabbitmqctl eval output: \(result.stdout)") }
            return (numbers[0], numbers[1])
        }

        /// A worker holding a full prefetch window (50) loses its connection (`rabbitmqctl
        /// close_connection`) and lives on: the broker returns the window `redelivered`. The
        /// process held those messages itself, so it knows no crash marker names them: it runs
        /// them again without a marker queue declared, published to or deleted per message
        /// (before: 50 durable queues created and deleted, 50 markers published), and every
        /// message is acked, none dead-lettered. Only a delivery still in transit at the close
        /// (sent, not yet read) is unknown to the process, and marked.
        @Test("a redelivery wave after a lost connection costs no marker round trips")
        func lostConnectionWaveHasNoMarkerChurn() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("crash-guard-churn") { queue in
                let worker = try WarrenProcess.launch(env, [
                    "worker", "--amqp-url", env.amqpURL, "--queue", queue, "--prefetch", "50", "--concurrency", "4",
                    "--log-level", "debug",
                ])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")
                // Every `rabbitmqctl` call but the close is made before the messages are published:
                // on a loaded machine one call took seconds, and the work (300 × 400 ms on 4 slots,
                // 30 s; 15 s once proved too short under load) must still hold a full window when
                // the close comes. The totals taken before include this test's own publishes,
                // counted below.
                let found = try await broker.connection(ofProcess: worker.child.pid)
                let connection = try #require(found, "the worker's consumer connection")
                let before = try await Self.brokerTotals(broker)
                let tag = uniqueSuffix()
                let total = 300
                try await broker.pikaPublish(
                    queue: queue, messages: (0..<total).map { (id: "m-\($0)-\(tag)", body: #"{"work_ms": 400}"#) })
                try await poll(timeout: .seconds(20), "the first ack", lastSeen: { worker.transcript }) { !worker.ackedIDs.isEmpty }
                try await broker.closeConnection(connection, reason: "crash guard churn test")
                try await poll(timeout: .seconds(120), "all \(total) messages acked", lastSeen: { worker.transcript }) {
                    Set(worker.ackedIDs).count == total
                }
                let after = try await Self.brokerTotals(broker)

                let redelivered = worker.events("message.acked").filter { $0["redelivered"] == "true" }.count
                #expect(redelivered >= 20, "the close came with a window held: \(redelivered) redelivered acks\n\(worker.transcript)")
                #expect(worker.events("worker.connection_lost").count == 1, "\(worker.transcript)")
                // A marker is one queue created and one message published. The process marks only
                // redeliveries it never held: on a loaded machine, a delivery the broker had sent
                // but the worker had not read when the close came (one in a CI-like run). At 10
                // messages a second (4 slots, 400 ms each), no more than a few are in transit;
                // marking the whole window (before: every one of the redeliveries) fails this.
                let markers = after.queuesCreated - before.queuesCreated
                print("crash guard churn: \(redelivered) redelivered acks, \(markers) marker queues created")
                #expect(after.published - before.published == total + markers, "only the \(total) messages and one marker per marker queue")
                #expect(markers <= 3, "no marker for the \(redelivered) redeliveries the process held: \(markers) created")
                #expect(worker.events("message.dead_lettered").isEmpty, "\(worker.transcript)")
                let queues = try await broker.listQueues()
                #expect(queues.keys.filter { $0.hasPrefix(queue + ".crash.") }.isEmpty)
            }
        }
    }
}
