import Foundation
import Testing

extension BrokerTests {
    @Suite("Interop with other clients and dead-lettering")
    struct DeadLetter {
        /// Messages from an independent client (pika, through a named exchange) reach the worker
        /// with their message ids; failing and unparsable ones are copied, with their original
        /// bodies and ids, Warren's error headers and the exchange and routing key they were first
        /// published with, through `<queue>.dlx` to `<queue>.dead` (the transient one after its one
        /// delayed retry); the worker keeps running and handles a message from librabbitmq's
        /// `amqp-publish` afterwards.
        @Test("bad messages land in <queue>.dead with their original bodies; the worker keeps going")
        func badMessagesAreDeadLettered() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let exchange = NamedExchange("deadletter")
            try await broker.withQueue("deadletter") { queue in
                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", env.amqpURL, "--queue", queue, "--log-level", "debug", "--retry-delays", "100ms"])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")

                let tag = uniqueSuffix()
                let good = (id: "good-\(tag)", body: "{}")
                let bad = [
                    (id: "permanent-\(tag)", body: #"{"fail":"permanent"}"#),
                    (id: "transient-\(tag)", body: #"{"fail":"transient"}"#),
                    (id: "notjson-\(tag)", body: "not json"),
                    (id: "array-\(tag)", body: "[1,2]"),
                ]
                // Through a named exchange with a routing key of its own: a retry hop arrives from
                // the default exchange with routing key = queue, so only Warren's headers can
                // still name these.
                try await broker.pikaPublish(through: exchange, to: queue, messages: [good] + bad)

                // One outcome line per message id.
                let ids = Set(([good] + bad).map(\.id))
                func outcomes() -> [String: LogLine] {
                    var result: [String: LogLine] = [:]
                    for line in worker.lines
                    where line.event == "message.acked" || line.event == "message.dead_lettered" {
                        if let id = line["message_id"], ids.contains(id) { result[id] = line }
                    }
                    return result
                }
                try await poll(
                    timeout: .seconds(20), "an outcome for each of the 5 messages",
                    lastSeen: { worker.transcript }
                ) { outcomes().count == 5 }

                let outcome = outcomes()
                #expect(outcome[good.id]?.event == "message.acked", "\(worker.transcript)")
                for message in bad {
                    let line = try #require(outcome[message.id])
                    #expect(line.event == "message.dead_lettered", "\(line)")
                    #expect(line["reason"].map { !$0.isEmpty } == true, "a failure names its reason: \(line)")
                    #expect(line["redelivered"] == "false", "\(line)")
                    #expect(line["delivery_tag"] != nil && line["duration_ms"] != nil, "\(line)")
                }
                #expect(outcome[bad[0].id]?["dead_letter_reason"] == "handler_error")
                #expect(outcome[bad[1].id]?["dead_letter_reason"] == "retries_exhausted")
                #expect(outcome[bad[1].id]?["attempt"] == "2", "dead-lettered on its second attempt")
                #expect(outcome[bad[2].id]?["dead_letter_reason"] == "undecodable")
                let retried = worker.events("message.retry_scheduled").compactMap { $0["message_id"] }
                #expect(retried == [bad[1].id], "only the transient failure is retried: \(worker.transcript)")
                let outcomeLines = worker.lines.filter {
                    ($0.event == "message.acked" || $0.event == "message.dead_lettered")
                        && $0["message_id"].map(ids.contains) == true
                }
                #expect(outcomeLines.count == 5, "exactly one outcome per message")

                // Warren's copies, bodies and ids intact, with why and where from.
                var dead: [PikaMessage] = []
                try await poll(
                    timeout: .seconds(20), interval: .milliseconds(300), "4 messages in \(queue).dead",
                    lastSeen: { dead.map(\.body).description }
                ) {
                    dead += try await broker.pikaGet(queue: queue + ".dead", max: 10)
                    return dead.count >= 4
                }
                #expect(dead.count == 4)
                let deadByID = Dictionary(dead.map { ($0.message_id ?? "", $0) }) { first, _ in first }
                for message in bad {
                    let fetched = try #require(deadByID[message.id], "\(message.id) in \(queue).dead: \(dead)")
                    #expect(fetched.body == message.body)
                    // A confirmed copy, not a broker dead-lettering; the retried one carries the
                    // broker's record of its wait in the retry queue.
                    let expectedDeath = message.id == bad[1].id ? "expired" : nil
                    #expect(fetched.death_reason == expectedDeath, "\(fetched)")
                    #expect(fetched.headers["x-warren-original-routing-key"] == exchange.routingKey, "\(fetched)")
                    #expect(fetched.headers["x-warren-original-exchange"] == exchange.name, "\(fetched)")
                    #expect(fetched.headers["x-warren-failed-at"]?.hasSuffix("Z") == true, "\(fetched)")
                    #expect(fetched.headers["x-warren-error-message"].map { !$0.isEmpty } == true, "\(fetched)")
                    #expect(fetched.delivery_mode == 2)
                }
                let types = bad.map { deadByID[$0.id]?.headers["x-warren-error-type"] }
                #expect(types == ["DemoFailure", "DemoFailure", "UndecodableMessage", "UndecodableMessage"], "\(dead)")
                let attempts = bad.map { deadByID[$0.id]?.headers["x-warren-attempts"] }
                #expect(attempts == ["1", "2", "1", "1"], "\(dead)")

                // Still consuming: a message from librabbitmq's amqp-publish is acked too.
                #expect(worker.isRunning)
                let ackedBefore = worker.events("message.acked").count
                try await broker.amqpPublish(queue: queue, body: "{}")
                try await poll(
                    timeout: .seconds(20), "a message.acked line for the amqp-publish message",
                    lastSeen: { worker.transcript }
                ) { worker.events("message.acked").count == ackedBefore + 1 }
                #expect(worker.events("message.dead_lettered").count == 4)

                worker.send(SIGTERM)
                let end = try await worker.waitForExit(timeout: .seconds(20))
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }
    }
}
