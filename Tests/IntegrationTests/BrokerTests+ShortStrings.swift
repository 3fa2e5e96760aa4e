import Testing
import WarrenAMQP

extension BrokerTests {
    @Suite("Short strings that are not UTF-8")
    struct ShortStrings {
        /// AMQP short strings are bytes; pika sends a message whose `message_id` and one header
        /// key are 255 bytes of invalid UTF-8. Warren repairs them to text (U+FFFD, 3 bytes each)
        /// and must still be able to send the message on: before the repaired strings were cut
        /// back to 255 bytes, the dead-letter copy's frame was corrupt (librabbitmq truncates a
        /// table key's length byte), the broker closed the connection, and the message came back
        /// for ever. Here it lands in `<queue>.dead` once, and the worker never reconnects.
        @Test("a 255-byte non-UTF-8 message id and header key are dead-lettered without breaking the connection")
        func invalidShortStringsAreCopiedOn() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("short-strings") { queue in
                let worker = try WarrenProcess.launch(env, ["worker", "--amqp-url", env.amqpURL, "--queue", queue])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")
                try await runToolChecked("python3", ["-c", Self.publishScript, env.amqpURL, queue], timeout: .seconds(30))

                var dead: [PikaMessage] = []
                try await poll(
                    timeout: .seconds(20), interval: .milliseconds(300), "the message in \(queue).dead",
                    lastSeen: { worker.transcript }
                ) {
                    dead += try await broker.pikaGet(queue: queue + ".dead", max: 10)
                    return !dead.isEmpty
                }
                let copy = try #require(dead.first)
                #expect(dead.count == 1)
                #expect(copy.body == #"{"fail":"permanent"}"#)
                let replacement = "\u{FFFD}"
                #expect(copy.message_id == String(repeating: replacement, count: 85), "cut to 255 bytes: \(copy)")
                #expect(copy.headerNames.contains(String(repeating: replacement, count: 85)), "\(copy.headerNames)")
                #expect(copy.headers["kept"] == "yes")
                #expect(worker.events("message.dead_lettered").count == 1, "\(worker.transcript)")
                #expect(worker.events("worker.connection_lost").isEmpty, "\(worker.transcript)")
                #expect(worker.events("worker.connected").count == 1, "\(worker.transcript)")
            }
        }

        /// librabbitmq fails a publish whose property is over 255 bytes only after its method
        /// frame went out, which breaks the connection; Warren refuses it before that.
        @Test("a publish with a 256-byte message id fails alone; the connection publishes on")
        func tooLongPublishIsRefused() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("short-strings-publish") { queue in
                try await env.declareTopology(queue)
                let connection = try await AMQPConnection.connect(.init(url: try AMQPURL(env.amqpURL), connectionName: "it.short-strings"))
                do {
                    try await connection.publish(routingKey: queue, properties: AMQPProperties(messageID: String(repeating: "x", count: 256)), body: [])
                    Issue.record("a 256-byte message id was published")
                } catch let error as AMQPError {
                    guard error.code == .invalidPublish, let reason = error.reason else { throw error }
                    #expect(reason.contains("message_id"), "\(reason)")
                }
                #expect(connection.isOpen, "\(String(describing: connection.closeReason))")
                try await connection.publish(routingKey: queue, properties: AMQPProperties(deliveryMode: 2, messageID: "after"), body: Array("{}".utf8))
                await connection.close()
                let fetched = try await broker.pikaGet(queue: queue, max: 5)
                #expect(fetched.map(\.message_id) == ["after"])
            }
        }

        static let publishScript = """
            import sys, pika
            url, queue = sys.argv[1], sys.argv[2]
            connection = pika.BlockingConnection(pika.URLParameters(url))
            channel = connection.channel()
            channel.confirm_delivery()
            invalid = b'\\xff' * 255
            properties = pika.BasicProperties(
                message_id=invalid, delivery_mode=2, content_type='application/json',
                headers={invalid: 'value', 'kept': 'yes'})
            channel.basic_publish('', queue, b'{"fail":"permanent"}', properties, mandatory=True)
            connection.close()
            """
    }
}
