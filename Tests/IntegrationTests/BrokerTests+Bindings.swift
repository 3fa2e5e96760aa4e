import Foundation
import Testing

extension BrokerTests {
    /// Issue 15, test 4: `--bind` binds the work queue to exchanges other services publish to.
    @Suite("Bindings to existing and new exchanges")
    struct Bindings {
        /// Three bindings on one worker: a topic exchange Warren declares (it does not exist), a
        /// direct exchange pika declared first (used as it is, though `--exchange-type` is
        /// topic), and RabbitMQ's own `amq.headers` (bound, never declared) with header match
        /// arguments. pika publishes matching and non-matching messages, mandatory: exactly the
        /// non-matching ones come back unroutable (no queue at all got them), and the worker
        /// acks exactly the matching ones. Then `warren publish --exchange --routing-key` to the
        /// topic exchange reaches the worker too, and a key that does not match is unroutable.
        @Test("messages reach the worker exactly when their routing key or headers match a binding")
        func topicDirectAndHeadersBindings() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let suffix = uniqueSuffix()
            let topic = "it.bind.topic.\(suffix)"
            let direct = "it.bind.direct.\(suffix)"
            try await withCleanup {
                try await broker.withQueue("bindings") { queue in
                    try await broker.pikaDeclareExchange(direct, type: "direct")
                    let worker = try WarrenProcess.worker(env, queue: queue, [
                        "--queue-type", "classic", "--log-level", "debug", "--bind", "\(topic)=order.*.created", "--bind", "\(direct)=invoices",
                        "--bind", "amq.headers=?x-match=all&format=pdf&tenant=\(suffix)",
                    ])
                    defer { worker.forceStop() }
                    try await worker.waitForEvent("worker.consuming")

                    let topicMessages = [
                        RoutedMessage(id: "t-match-\(suffix)", routingKey: "order.eu.created"),
                        RoutedMessage(id: "t-other-verb-\(suffix)", routingKey: "order.eu.cancelled"),
                        RoutedMessage(id: "t-too-short-\(suffix)", routingKey: "order.created"),
                        RoutedMessage(id: "t-too-long-\(suffix)", routingKey: "order.eu.north.created"),
                    ]
                    let directMessages = [
                        RoutedMessage(id: "d-match-\(suffix)", routingKey: "invoices"),
                        RoutedMessage(id: "d-other-\(suffix)", routingKey: "invoices.paid"),
                    ]
                    let headersMessages = [
                        RoutedMessage(id: "h-match-\(suffix)", routingKey: "", headers: ["format": "pdf", "tenant": suffix, "extra": "x"]),
                        RoutedMessage(id: "h-one-of-two-\(suffix)", routingKey: "", headers: ["format": "pdf"]),
                        RoutedMessage(id: "h-other-\(suffix)", routingKey: "", headers: ["format": "doc", "tenant": suffix]),
                    ]
                    var unroutable = try await broker.pikaPublishRouted(exchange: topic, topicMessages)
                    unroutable.formUnion(try await broker.pikaPublishRouted(exchange: direct, directMessages))
                    unroutable.formUnion(try await broker.pikaPublishRouted(exchange: "amq.headers", headersMessages))
                    let all = Set((topicMessages + directMessages + headersMessages).map(\.id))
                    let matching: Set = ["t-match-\(suffix)", "d-match-\(suffix)", "h-match-\(suffix)"]
                    #expect(unroutable == all.subtracting(matching), "only the non-matching ones reached no queue")

                    var acked: Set<String> = []
                    try await poll(timeout: .seconds(20), "the matching messages acked", lastSeen: { "\(acked)" }) {
                        acked = Set(worker.events("message.acked").compactMap { $0["message_id"] })
                        return acked.isSuperset(of: matching)
                    }
                    #expect(acked == matching, "\(worker.transcript)")

                    // warren publish to the bound topic exchange reaches the worker.
                    let published = try await warrenPublish(env, [
                        "--amqp-url", env.amqpURL, "--exchange", topic, "--routing-key", "order.us.created", "--count", "2",
                    ])
                    #expect(published.succeeded, "\(published)")
                    #expect(PublishSummary(published.output)?.confirmed == 2, "\(published)")
                    try await poll(timeout: .seconds(20), "the two published messages acked", lastSeen: { worker.transcript }) {
                        worker.events("message.acked").count == matching.count + 2
                    }
                    let missed = try await warrenPublish(env, [
                        "--amqp-url", env.amqpURL, "--exchange", topic, "--routing-key", "order.us.shipped",
                    ])
                    #expect(PublishSummary(missed.output)?.unroutable == 1, "\(missed)")

                    let exchanges = try await broker.listExchanges()
                    #expect(exchanges[topic]?.type == "topic" && exchanges[topic]?.durable == true, "declared durable, --exchange-type's default")
                    #expect(exchanges[direct]?.type == "direct", "the existing exchange was used as it is")
                    let (end, _) = try await worker.stop()
                    #expect(end == .exited(0), "\(worker.transcript)")
                    #expect(worker.events("message.acked").count == matching.count + 2, "nothing else arrived: \(worker.transcript)")
                }
            } cleanup: {
                await broker.delete(queues: [], exchanges: [topic, direct])
            }
        }

        /// Bindings are made at every connect: the exchange is deleted under a running worker
        /// (its binding goes with it), the broker closes the worker's connection, and after the
        /// reconnect the exchange is declared again and bound, so a message published to it
        /// reaches the worker.
        @Test("after a reconnect a deleted exchange is declared and bound again")
        func bindingsAreRestoredAtReconnect() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let topic = "it.bind.again.\(uniqueSuffix())"
            try await withCleanup {
                try await broker.withQueue("bindagain") { queue in
                    let worker = try WarrenProcess.worker(env, queue: queue, [
                        "--queue-type", "classic", "--log-level", "debug", "--bind", "\(topic)=job.#",
                        "--reconnect-initial-delay", "100ms", "--reconnect-max-delay", "200ms",
                    ])
                    defer { worker.forceStop() }
                    try await worker.waitForEvent("worker.consuming")
                    await broker.delete(queues: [], exchanges: [topic])
                    let connection = try #require(try await broker.connection(ofProcess: worker.child.pid), "\(worker.transcript)")
                    try await broker.closeConnection(connection, reason: "test: bindings at reconnect")
                    try await poll(timeout: .seconds(20), "a second worker.consuming", lastSeen: { worker.transcript }) {
                        worker.events("worker.consuming").count >= 2
                    }
                    let id = "again-\(uniqueSuffix())"
                    let unroutable = try await broker.pikaPublishRouted(exchange: topic, [RoutedMessage(id: id, routingKey: "job.a.b")])
                    #expect(unroutable.isEmpty, "bound again")
                    let acked = try await worker.waitForEvent("message.acked")
                    #expect(acked["message_id"] == id, "\(acked)")
                }
            } cleanup: {
                await broker.delete(queues: [], exchanges: [topic])
            }
        }

        /// `--exchange-type` applies to exchanges Warren declares: a missing one becomes a fanout
        /// exchange, and a message with any routing key reaches the worker.
        @Test("--exchange-type declares a missing exchange with that type")
        func exchangeTypeForDeclaredExchanges() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let fanout = "it.bind.fanout.\(uniqueSuffix())"
            try await withCleanup {
                try await broker.withQueue("bindfanout") { queue in
                    let worker = try WarrenProcess.worker(
                        env, queue: queue, ["--queue-type", "classic", "--log-level", "debug"],
                        environment: ["WARREN_BIND": "\(fanout)=ignored", "WARREN_EXCHANGE_TYPE": "fanout"])
                    defer { worker.forceStop() }
                    try await worker.waitForEvent("worker.consuming")
                    let id = "fanout-\(uniqueSuffix())"
                    let unroutable = try await broker.pikaPublishRouted(exchange: fanout, [RoutedMessage(id: id, routingKey: "anything")])
                    #expect(unroutable.isEmpty)
                    let acked = try await worker.waitForEvent("message.acked")
                    #expect(acked["message_id"] == id, "\(acked)")
                    #expect(try await broker.listExchanges()[fanout]?.type == "fanout")
                }
            } cleanup: {
                await broker.delete(queues: [], exchanges: [fanout])
            }
        }
    }
}
