import Testing
import WarrenAMQP

extension BrokerTests {
    @Suite("Deliveries read frame by frame")
    struct DeliveryFrames {
        /// The owner thread reads a delivery's frames itself (`DeliveryAssembly`), not through
        /// `amqp_consume_message`. Messages from an independent client (pika) arrive whole: a
        /// body over two frames' worth (the broker's frame_max is 128 KiB), an empty one and a
        /// small one, with their properties and headers; a `basic.return` and publisher
        /// confirms on the same connection read in between change nothing.
        @Test("large, empty and small bodies from pika arrive whole, with their properties")
        func bodiesArriveWhole() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("delivery-frames") { queue in
                try await env.declareTopology(queue)
                try await runToolChecked("python3", ["-c", Self.publishScript, env.amqpURL, queue], timeout: .seconds(30))
                let connection = try await AMQPConnection.connect(.init(url: try AMQPURL(env.amqpURL), connectionName: "it.delivery-frames"))
                let consumer = try await connection.consume(queue: queue, prefetch: 10)
                // A return and a confirm come in between the deliveries on this connection.
                await #expect(throws: AMQPError.self) {
                    try await connection.publish(routingKey: "it.nowhere-\(queue)", mandatory: true, body: Array("{}".utf8))
                }
                try await connection.publish(routingKey: queue + ".dead", body: Array("confirmed".utf8))

                var received: [AMQPDelivery] = []
                for try await delivery in consumer.deliveries {
                    received.append(delivery)
                    connection.ack(delivery.deliveryTag)
                    if received.count == 3 { break }
                }
                let large = Self.largeBody
                #expect(received.map(\.properties.messageID) == ["large", "empty", "small"])
                #expect(received[0].body.count == large.count)
                #expect(received[0].body == large, "every byte in order across the body frames")
                #expect(received[0].properties.contentType == "application/octet-stream")
                #expect(received[0].properties.headers?["part"] == .string("one"))
                #expect(received[1].body.isEmpty)
                #expect(received[1].properties.correlationID == "c-empty")
                #expect(received[2].body == Array(#"{"ok":true}"#.utf8))
                #expect(received[2].properties.contentType == "application/json")
                #expect(received.allSatisfy { $0.routingKey == queue && $0.exchange.isEmpty && !$0.redelivered })
                #expect(connection.isOpen, "\(String(describing: connection.closeReason))")
                await connection.close()
                let counts = try await broker.waitForCounts(of: queue, timeout: .seconds(30), "0 messages and 0 unacknowledged") {
                    $0.messages == 0 && $0.unacknowledged == 0
                }
                #expect(counts.messages == 0)
            }
        }

        /// 300,017 bytes: two full 131,072-byte body frames and part of a third.
        static let largeBody: [UInt8] = (0..<300_017).map { UInt8($0 % 251) }

        static let publishScript = """
            import sys, pika
            url, queue = sys.argv[1], sys.argv[2]
            connection = pika.BlockingConnection(pika.URLParameters(url))
            channel = connection.channel()
            channel.confirm_delivery()
            large = bytes(i % 251 for i in range(300017))
            channel.basic_publish('', queue, large, pika.BasicProperties(
                message_id='large', content_type='application/octet-stream', headers={'part': 'one'}), mandatory=True)
            channel.basic_publish('', queue, b'', pika.BasicProperties(message_id='empty', correlation_id='c-empty'), mandatory=True)
            channel.basic_publish('', queue, b'{"ok":true}', pika.BasicProperties(
                message_id='small', content_type='application/json'), mandatory=True)
            connection.close()
            """
    }
}
