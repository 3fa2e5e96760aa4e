import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: MessageContext")
    struct LibraryContext {
        struct Order: Codable, Sendable {
            var orderID: String
        }

        struct Receipt: Codable, Sendable, Hashable {
            var orderID: String
            var source: String
        }

        /// What a handler saw in its context.
        struct Seen: Sendable {
            var messageID: String
            var queue: String
            var exchange: String
            var routingKey: String
            var deliveryTag: UInt64
            var redelivered: Bool
            var attempt: Int
            var headers: AMQPTable
            var loggerMetadata: [String: String]
            var deadline: ContinuousClock.Instant?
            var isShuttingDown: Bool
            var followUpID: String
        }

        /// A message requeued once by pika (so `redelivered`), with `x-warren-attempt` 3 as an
        /// integer and a correlation id, and a fresh one with `x-warren-attempt` "2" as a string:
        /// the handler sees queue, routing key, delivery tag, redelivered, attempt and headers,
        /// and its `context.logger` carries message_id, correlation_id, queue, delivery_tag,
        /// redelivered and attempt. `context.publish(json:routingKey:)` from inside the handler
        /// lands, confirmed, in another queue with the returned message id and a correlation id
        /// of the incoming message's correlation id, else its message id, over the consumer's own
        /// `<name>/follow-ups` connection, never the consuming one; all close with the consumer.
        @Test("a handler sees attempt, redelivered, headers, logger metadata; context.publish carries the correlation")
        func messageContext() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.context") { queue in
                let receipts = "it.lib.receipts.\(uniqueSuffix())"
                try await withCleanup {
                    try await broker.declarePlainClassicQueue(receipts)
                    try await env.declareTopology(queue)

                    let tag = uniqueSuffix()
                    let first = "first-\(tag)", second = "second-\(tag)", correlation = "corr-\(tag)"
                    try await broker.pikaPublish(queue: queue, [
                        OutgoingMessage(
                            id: first, body: #"{"orderID":"F-1"}"#, correlationID: correlation,
                            headers: ["x-warren-attempt": .int(3), "tenant": .string("acme")]),
                    ])
                    #expect(try await broker.pikaRequeueAll(queue: queue) == 1)
                    try await broker.pikaPublish(queue: queue, [
                        OutgoingMessage(id: second, body: #"{"orderID":"S-2"}"#, headers: ["x-warren-attempt": .string("2")]),
                    ])

                    let log = InProcessLog()
                    let seen = InProcessRecorder<Seen>()
                    let connectionName = "it-lib-context-\(tag)"
                    let consumer = WarrenConsumer(
                        configuration: ConsumerConfiguration(queue: queue, queueType: .classic),
                        connection: .dedicated(try env.connection(connectionName)),
                        handler: ClosureHandler { (order: Order, context) in
                            context.logger.info("handling", metadata: ["event": "test.handling"])
                            let id = context.properties.messageID ?? "?"
                            let followUp = try await context.publish(json: Receipt(orderID: order.orderID, source: id), routingKey: receipts)
                            let keys = ["message_id", "correlation_id", "queue", "delivery_tag", "redelivered", "attempt"]
                            var metadata: [String: String] = [:]
                            for key in keys { metadata[key] = context.logger[metadataKey: key].map { "\($0)" } }
                            seen.append(Seen(
                                messageID: id, queue: context.queue, exchange: context.exchange, routingKey: context.routingKey,
                                deliveryTag: context.deliveryTag, redelivered: context.redelivered, attempt: context.attempt,
                                headers: context.headers, loggerMetadata: metadata, deadline: context.deadline,
                                isShuttingDown: context.isShuttingDown, followUpID: followUp))
                        },
                        logger: log.logger())

                    var openConnections: [String] = []
                    try await withInProcessWorker([consumer], log: log) { worker in
                        try await log.waitFor("message.acked", count: 2)
                        // The consumer's connections, as the broker sees them while they are open.
                        openConnections = try await broker.connectionNames()
                        try await worker.stop()
                    }

                    let byID = Dictionary(seen.all.map { ($0.messageID, $0) }) { first, _ in first }
                    #expect(seen.count == 2, "\(log.transcript)")
                    let one = try #require(byID[first], "\(log.transcript)")
                    let two = try #require(byID[second], "\(log.transcript)")
                    #expect(one.redelivered == true && two.redelivered == false)
                    #expect(one.attempt == 3 && two.attempt == 2, "x-warren-attempt as int and as string")
                    #expect(one.headers["tenant"] == .string("acme") && one.headers["x-warren-attempt"] == .int(3), "\(one.headers)")
                    #expect(two.headers["x-warren-attempt"] == .string("2"), "\(two.headers)")
                    for item in [one, two] {
                        #expect(item.queue == queue && item.exchange == "" && item.routingKey == queue, "\(item)")
                        #expect(item.deliveryTag > 0)
                        #expect(item.deadline == nil, "no handlerTimeout, no deadline")
                        #expect(item.isShuttingDown == false)
                        #expect(item.loggerMetadata["message_id"] == item.messageID, "\(item.loggerMetadata)")
                        #expect(item.loggerMetadata["queue"] == queue, "\(item.loggerMetadata)")
                        #expect(item.loggerMetadata["delivery_tag"] == "\(item.deliveryTag)", "\(item.loggerMetadata)")
                        #expect(item.loggerMetadata["redelivered"] == "\(item.redelivered)", "\(item.loggerMetadata)")
                        #expect(item.loggerMetadata["attempt"] == "\(item.attempt)", "\(item.loggerMetadata)")
                    }
                    #expect(one.loggerMetadata["correlation_id"] == correlation)
                    #expect(two.loggerMetadata["correlation_id"] == nil, "none on the incoming message: \(two.loggerMetadata)")
                    #expect(one.deliveryTag != two.deliveryTag)

                    // What the handler logged through context.logger carries the same fields.
                    let handling = log.events("test.handling")
                    #expect(handling.count == 2, "\(log.transcript)")
                    for record in handling {
                        let item = try #require(byID[record["message_id"] ?? ""], "\(record)")
                        #expect(record["queue"] == queue && record["delivery_tag"] == "\(item.deliveryTag)"
                                    && record["attempt"] == "\(item.attempt)" && record["redelivered"] == "\(item.redelivered)", "\(record)")
                    }
                    #expect(handling.first { $0["message_id"] == first }?["correlation_id"] == correlation)

                    // The follow-ups, read back independently.
                    let followUps = try await broker.pikaGet(queue: receipts, max: 10)
                    #expect(followUps.count == 2, "\(followUps)")
                    for fetched in followUps {
                        let receipt = try JSONDecoder().decode(Receipt.self, from: Data(fetched.bodyBytes))
                        let item = try #require(byID[receipt.source], "\(fetched)")
                        #expect(fetched.message_id == item.followUpID, "the id publish returned: \(fetched)")
                        #expect(fetched.content_type == "application/json", "\(fetched)")
                        let expectedCorrelation = receipt.source == first ? correlation : second
                        #expect(fetched.correlation_id == expectedCorrelation, "\(fetched)")
                    }
                    #expect(Set(followUps.compactMap { try? JSONDecoder().decode(Receipt.self, from: Data($0.bodyBytes)) })
                            == [Receipt(orderID: "F-1", source: first), Receipt(orderID: "S-2", source: second)])

                    #expect(try await broker.pikaGet(queue: queue, max: 10).isEmpty)
                    // The follow-ups went over the consumer's own `<name>/follow-ups` connection:
                    // it is opened by the first follow-up publish and by nothing else (Warren's
                    // copies and crash markers use `<name>/publish`), so it is there only if
                    // handlers' publishes took it rather than the consuming or the copies' one.
                    let ours = openConnections.filter { $0.hasPrefix(connectionName) }
                    #expect(ours.contains(connectionName) && ours.contains(connectionName + "/follow-ups"), "\(openConnections)")
                    // The consumer's connections closed with it.
                    try await poll(timeout: .seconds(10), interval: .seconds(1), "\(connectionName) and its publishing connections to close") {
                        try await broker.connectionNames().allSatisfy { !$0.hasPrefix(connectionName) }
                    }
                } cleanup: {
                    await broker.delete(queues: [receipts])
                }
            }
        }
    }
}
