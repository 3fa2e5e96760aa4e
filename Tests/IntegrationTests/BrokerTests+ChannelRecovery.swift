import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Channel-level errors recover the channel, not the connection")
    struct ChannelRecovery {
        /// A publish to a missing exchange and a passive declare of a missing queue make the real
        /// broker close the channel (`404 NOT_FOUND`). Each call fails with the broker's reply,
        /// and the same connection goes on: its channel is opened again, so the next publish is
        /// confirmed and pika reads it from the queue.
        @Test("a 404 closes the channel; the same connection publishes again right after")
        func channelErrorKeepsTheConnection() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("channel-recovery") { queue in
                try await env.declareTopology(queue)
                let connection = try await AMQPConnection.connect(.init(url: try AMQPURL(env.amqpURL), connectionName: "it.channel-recovery"))
                await #expect(throws: AMQPError.self) {
                    try await connection.publish(exchange: "it.no-such-exchange-\(uniqueSuffix())", routingKey: "x", body: [])
                }
                #expect(connection.isOpen, "\(String(describing: connection.closeReason))")
                do {
                    _ = try await connection.inspectQueue("it.no-such-queue-\(uniqueSuffix())")
                    Issue.record("a passive declare of a missing queue succeeded")
                } catch let error as AMQPError {
                    #expect(error.replyCode == 404, "\(error)")
                }
                #expect(connection.isOpen)
                try await connection.publish(routingKey: queue, properties: AMQPProperties(deliveryMode: 2, messageID: "after-404"), body: Array("{}".utf8))
                #expect(try await connection.inspectQueue(queue).messages == 1)
                await connection.close()
                let fetched = try await broker.pikaGet(queue: queue, max: 5)
                #expect(fetched.map(\.message_id) == ["after-404"])
            }
        }
    }
}
