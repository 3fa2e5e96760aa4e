import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: typed decoding of message bodies")
    struct LibraryDecoding {
        struct OrderPlaced: Decodable, Sendable, Equatable {
            var orderID: String
            var cents: Int
            var note: String?
        }

        /// JSON published by pika with `application/json`, without any content type, with a
        /// charset parameter and as a vendor `+json` type reaches a `ClosureHandler` of a
        /// `Decodable` type with the right field values, and every message is acked: after the
        /// consumer stopped (its connection closed, so nothing can stay unacked), the queue and
        /// `<queue>.dead` are empty.
        @Test("JSON with or without content_type reaches a typed handler decoded, and is acked")
        func typedDecodingSuccess() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.decode") { queue in
                let log = InProcessLog()
                let handled = InProcessRecorder<(id: String, order: OrderPlaced)>()
                let consumer = WarrenConsumer(
                    configuration: ConsumerConfiguration(queue: queue, queueType: .classic),
                    connection: .dedicated(try env.connection("it-lib-decode-\(uniqueSuffix())")),
                    handler: ClosureHandler { (order: OrderPlaced, context) in
                        handled.append((context.properties.messageID ?? "?", order))
                    },
                    logger: log.logger())

                let tag = uniqueSuffix()
                let expected: [String: OrderPlaced] = [
                    "json-\(tag)": OrderPlaced(orderID: "A-1", cents: 1250, note: nil),
                    "none-\(tag)": OrderPlaced(orderID: "B-2", cents: 7, note: "gift"),
                    "charset-\(tag)": OrderPlaced(orderID: "C-3", cents: 0, note: "ünïcödé"),
                    "vendor-\(tag)": OrderPlaced(orderID: "D-4", cents: -5, note: nil),
                ]
                try await withInProcessWorker([consumer], log: log) { worker in
                    try await log.waitFor("worker.consuming")
                    try await broker.pikaPublish(queue: queue, [
                        OutgoingMessage(id: "json-\(tag)", body: #"{"orderID":"A-1","cents":1250}"#),
                        OutgoingMessage(id: "none-\(tag)", body: #"{"orderID":"B-2","cents":7,"note":"gift"}"#, contentType: nil),
                        OutgoingMessage(
                            id: "charset-\(tag)", body: #"{"cents":0,"orderID":"C-3","note":"ünïcödé","extra":[1,2]}"#,
                            contentType: "application/json; charset=utf-8"),
                        OutgoingMessage(
                            id: "vendor-\(tag)", body: #"{"orderID":"D-4","cents":-5}"#,
                            contentType: "application/vnd.shop.order+json", contentEncoding: "utf-8"),
                    ])
                    try await log.waitFor("message.acked", count: expected.count, where: { $0["message_id"]?.hasSuffix(tag) == true })
                    try await worker.stop()
                }

                let byID = Dictionary(handled.all.map { ($0.id, $0.order) }) { first, _ in first }
                #expect(byID == expected, "\(log.transcript)")
                #expect(handled.count == expected.count, "each message handled once")
                #expect(log.events("message.dead_lettered").isEmpty, "\(log.transcript)")
                let left = try await broker.pikaGet(queue: queue, max: 10)
                #expect(left.isEmpty, "every message acked: \(left)")
                let dead = try await broker.pikaGet(queue: queue + ".dead", max: 10)
                #expect(dead.isEmpty, "nothing dead-lettered: \(dead)")
            }
        }

        /// Bodies a typed handler cannot read — invalid JSON, a missing required field, a
        /// `text/plain` content type, a `gzip` content encoding — are dead-lettered with their
        /// bodies and properties intact, the handler is never called for them, and each gets a
        /// `message.dead_lettered` record whose `error_type` is `UndecodableMessage` and whose
        /// reason names the problem. A good message among them is still handled. A raw
        /// `[UInt8]` handler on a second queue receives a non-JSON, non-UTF-8 body unchanged.
        @Test("undecodable bodies are dead-lettered intact, unhandled, with the reason; raw handlers get bytes as is")
        func typedDecodingFailures() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.undecodable") { queue in
                try await broker.withQueue("lib.raw") { rawQueue in
                    let log = InProcessLog()
                    let handled = InProcessRecorder<String>()
                    let rawBodies = InProcessRecorder<(id: String, body: [UInt8])>()
                    let typed = WarrenConsumer(
                        configuration: ConsumerConfiguration(queue: queue, queueType: .classic),
                        connection: .dedicated(try env.connection("it-lib-undecodable-\(uniqueSuffix())")),
                        handler: ClosureHandler { (_: OrderPlaced, context) in
                            handled.append(context.properties.messageID ?? "?")
                        },
                        logger: log.logger())
                    let raw = WarrenConsumer(
                        configuration: ConsumerConfiguration(queue: rawQueue, queueType: .classic),
                        connection: .dedicated(try env.connection("it-lib-raw-\(uniqueSuffix())")),
                        handler: ClosureHandler { (body: [UInt8], context) in
                            rawBodies.append((context.properties.messageID ?? "?", body))
                        },
                        logger: log.logger())

                    let tag = uniqueSuffix()
                    let valid = #"{"orderID":"E-5","cents":3}"#
                    // id -> (message, a fragment the reason must contain)
                    let bad: [(message: OutgoingMessage, reason: String)] = [
                        (OutgoingMessage(id: "invalid-\(tag)", body: #"{"orderID": "E-5", "cents": "#), "not a valid OrderPlaced"),
                        (OutgoingMessage(id: "missing-\(tag)", body: #"{"orderID":"E-5"}"#), "cents"),
                        (OutgoingMessage(id: "text-\(tag)", body: valid, contentType: "text/plain"), "'text/plain' is not JSON"),
                        (OutgoingMessage(id: "gzip-\(tag)", body: valid, contentEncoding: "gzip"), "'gzip' is not supported"),
                    ]
                    let goodID = "good-\(tag)"
                    let rawBody: [UInt8] = [0x00, 0xFF, 0xFE, 0x80, 0x7B] + Array("not json".utf8)

                    try await withInProcessWorker([typed, raw], log: log) { worker in
                        try await log.waitFor("worker.consuming", count: 2)
                        try await broker.pikaPublish(queue: queue, bad.map(\.message) + [OutgoingMessage(id: goodID, body: valid)])
                        try await broker.pikaPublish(
                            queue: rawQueue, [OutgoingMessage(id: "raw-\(tag)", bytes: rawBody, contentType: "application/octet-stream")])
                        try await log.waitFor("message.dead_lettered", count: bad.count)
                        try await log.waitFor("message.acked", count: 2)
                        try await worker.stop()
                    }

                    #expect(handled.all == [goodID], "the handler ran only for the readable message\(log.transcript)")
                    let deadLettered = log.events("message.dead_lettered")
                    #expect(deadLettered.count == bad.count, "\(log.transcript)")
                    for (message, fragment) in bad {
                        let record = try #require(
                            deadLettered.first { $0["message_id"] == message.id }, "\(message.id)\(log.transcript)")
                        #expect(record["error_type"] == "UndecodableMessage", "\(record)")
                        #expect(record["reason"]?.contains(fragment) == true, "reason names the problem (\(fragment)): \(record)")
                        #expect(record["queue"] == queue, "\(record)")
                    }

                    let dead = try await broker.pikaGet(queue: queue + ".dead", max: 10)
                    #expect(dead.count == bad.count, "\(dead)")
                    for (message, _) in bad {
                        let fetched = try #require(dead.first { $0.message_id == message.id }, "\(message.id) in .dead: \(dead)")
                        #expect(fetched.bodyBytes == message.body, "body intact: \(fetched)")
                        #expect(fetched.content_type == message.contentType, "\(fetched)")
                        #expect(fetched.content_encoding == message.contentEncoding, "\(fetched)")
                        #expect(fetched.headers["x-warren-error-type"] == "UndecodableMessage", "\(fetched)")
                        #expect(fetched.headers["x-warren-attempts"] == "1", "dead-lettered at once, not retried: \(fetched)")
                    }
                    let left = try await broker.pikaGet(queue: queue, max: 10)
                    #expect(left.isEmpty, "\(left)")

                    let received = rawBodies.all
                    #expect(received.count == 1)
                    #expect(received.first?.id == "raw-\(tag)")
                    #expect(received.first?.body == rawBody, "raw bytes unchanged: \(received)")
                    #expect(try await broker.pikaGet(queue: rawQueue, max: 10).isEmpty, "raw message acked")
                }
            }
        }
    }
}
