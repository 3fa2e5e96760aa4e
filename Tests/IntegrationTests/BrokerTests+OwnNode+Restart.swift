import Foundation
import Testing

extension BrokerTests.OwnNode {
    /// Mid-stream, the broker restarts (graceful stop, start: clients get CONNECTION_FORCED, then
    /// refused connections for the ~15 s the node needs), and later `rabbitmqctl close_connection`
    /// kills the worker's connection. Each time the worker logs `worker.connection_lost` and
    /// `worker.reconnecting` (back-off capped at `--reconnect-max-delay`), becomes ready again by
    /// itself, and goes on. At the end no message is lost; a message acked twice is one whose ack
    /// died with a connection, so duplicates are bounded by the prefetch window per failure and
    /// their second delivery is flagged redelivered; every `message.abandoned` message is acked later.
    @Test("broker restart and forced close mid-stream: reconnects by itself, loses nothing")
    func brokerRestartAndForcedClose() async throws {
        let node = try OwnBroker.required()
        let env = try await node.running(TestEnvironment.current())
        let broker = Broker(env)
        try await broker.withQueue("restart") { queue in
            let total = 6000
            let prefetch = 20
            let worker = try WarrenProcess.worker(
                env, queue: queue,
                ["--queue-type", "classic", "--log-level", "debug", "--concurrency", "10", "--prefetch", "\(prefetch)",
                 "--reconnect-initial-delay", "100ms", "--reconnect-max-delay", "1s"])
            defer { worker.forceStop() }
            let probe = try await worker.healthProbe()
            try await probe.waitUntilReady(timeout: .seconds(20))
            let publish = try await warrenPublish(
                env, ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--count", "\(total)",
                      // 75 ms × 6000 / 10 handlers = 45 s of work: a graceful node stop can take
                      // several seconds on a loaded machine, and the worker keeps draining its
                      // prefetch meanwhile; the run must outlast both failures by a wide margin.
                      // After the restart, the lookup and the close are two `rabbitmqctl` calls,
                      // 10 s each on a loaded machine: with 4000 messages, all were acked first.
                      "--body", #"{"work_ms": 75}"#])
            try #require(PublishSummary(publish.stdout)?.confirmed == total, "\(publish)")
            func distinct() -> Int { Set(worker.ackedIDs).count }

            // 1. Broker restart.
            try await poll(timeout: .seconds(30), "300 acks before the restart", lastSeen: { worker.transcript }) { distinct() >= 300 }
            try await node.stop()
            try await worker.waitForEvent("worker.connection_lost", timeout: .seconds(30))
            var last = ""
            try await poll(timeout: .seconds(10), interval: .milliseconds(100), "/readyz 503 while the broker is down", lastSeen: { last }) {
                let (response, readiness) = try await probe.readyz()
                last = "\(response)"
                return response.status == 503 && readiness?.ready == false
            }
            #expect(worker.isRunning, "a lost connection does not end the process")
            try await node.start()
            try await probe.waitUntilReady(timeout: .seconds(30))
            let ackedAfterRestart = distinct()
            #expect(ackedAfterRestart < total, "the restart happened mid-stream")

            // 2. Forced close by the broker operator. The connection is looked up while the worker
            // consumes again, so that only the close itself runs once it is well under way.
            let found = try await broker.connection(ofProcess: worker.child.pid)
            let connection = try #require(found, "the worker's connection, named warren@<host>:\(worker.child.pid)")
            try await poll(timeout: .seconds(30), "300 more acks after the restart", lastSeen: { worker.transcript }) {
                distinct() >= ackedAfterRestart + 300
            }
            try await broker.closeConnection(connection, reason: "warren integration test")
            // Read at once: the worker reconnects in 100 ms and goes on, and by the time the test
            // has read its `worker.connection_lost` line the rest of the work can be done. (The
            // `message.abandoned` lines below show that handlers were cut off by each failure.)
            let ackedAtClose = distinct()
            #expect(ackedAtClose < total, "the forced close happened mid-stream")
            try await poll(timeout: .seconds(15), "a second worker.connection_lost", lastSeen: { worker.transcript }) {
                worker.events("worker.connection_lost").count >= 2
            }
            try await probe.waitUntilReady(timeout: .seconds(20))

            try await poll(timeout: .seconds(90), "all \(total) messages acked", lastSeen: { "\(distinct()) acked\n\(worker.transcript)" }) {
                distinct() >= total
            }
            try await broker.waitForCounts(of: queue, timeout: .seconds(20), "0 messages, 0 unacked") {
                $0.messages == 0 && $0.unacknowledged == 0
            }
            let (end, _) = try await worker.stop(with: SIGTERM, timeout: .seconds(20))
            #expect(end == .exited(0), "\(worker.transcript)")

            // The whole log has been read now.
            let lost = worker.events("worker.connection_lost")
            #expect(lost.count == 2, "\(lost.map(\.raw).joined(separator: "\n"))")
            #expect(lost.allSatisfy { !($0["error"] ?? "").isEmpty }, "\(lost.map(\.raw))")
            #expect(lost.last?["error"]?.contains("CONNECTION_FORCED") == true || lost.last?["error"]?.contains("320") == true,
                    "the forced close names 320 CONNECTION_FORCED: \(lost.last?.raw ?? "")")
            let reconnecting = worker.events("worker.reconnecting")
            #expect(reconnecting.count >= 2, "\(worker.transcript)")
            for line in reconnecting {
                #expect(line["attempt"] != nil && line["cause"] != nil, "\(line)")
                let delay = line["delay_ms"].flatMap { Double($0) }
                #expect((delay ?? .infinity) <= 1000, "back-off capped at --reconnect-max-delay 1s: \(line)")
            }
            #expect(worker.events("worker.consuming").count == 3, "consuming at start and after each recovery")
            #expect(worker.events("message.dead_lettered").isEmpty)

            let acked = worker.events("message.acked")
            let ids = acked.compactMap { $0["message_id"] }
            #expect(Set(ids).count == total, "no message lost")
            let duplicates = ids.count - Set(ids).count
            #expect(duplicates <= 2 * prefetch, "\(duplicates) duplicate acks; at most \(prefetch) in flight at each of 2 failures")
            var seen = Set<String>()
            for line in acked {
                guard let id = line["message_id"] else { continue }
                if !seen.insert(id).inserted {
                    #expect(line["redelivered"] == "true", "a second ack is of a redelivery: \(line)")
                }
            }
            let lines = worker.lines
            let abandoned = lines.enumerated().filter { $0.element.event == "message.abandoned" }
            // The evidence must exist before it is checked: with thousands of messages waiting,
            // 10 handlers of 75 ms run at every moment, so each of the 2 failures cuts at least
            // one of them off from its connection.
            #expect(abandoned.count >= 2, "one message.abandoned or more per failure:\n\(worker.transcript)")
            for (index, line) in abandoned {
                let id = line["message_id"]
                let ackedLater = lines[(index + 1)...].contains { $0.event == "message.acked" && $0["message_id"] == id }
                #expect(ackedLater, "abandoned message \(id ?? "?") was redelivered and acked later")
            }
            for line in lost { print("restart + forced close: connection_lost error: \(line["error"] ?? "-")") }
            print("restart + forced close: \(ids.count) acks of \(total) messages, \(duplicates) duplicates, \(abandoned.count) abandoned, \(reconnecting.count) reconnect attempts")
        }
    }
}
