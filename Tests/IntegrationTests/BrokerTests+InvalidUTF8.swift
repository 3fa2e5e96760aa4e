import Foundation
import Testing

extension BrokerTests {
    @Suite("Bodies that are not UTF-8")
    struct InvalidUTF8 {
        /// `{"a":"\xff\xfe"}` from pika: the demo handler would ack any object (it ignores `a`), so
        /// only the UTF-8 check keeps it out. It is dead-lettered as undecodable, its copy in
        /// `<queue>.dead` names the reason, and the worker goes on acking the next message.
        @Test("a JSON body with invalid UTF-8 in an unread field is dead-lettered, not handled")
        func invalidUTF8IsDeadLettered() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("invalid-utf8") { queue in
                let worker = try WarrenProcess.launch(env, ["worker", "--amqp-url", env.amqpURL, "--queue", queue, "--log-level", "debug"])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")

                let tag = uniqueSuffix()
                let bad = OutgoingMessage(id: "bad-utf8-\(tag)", bytes: Array(#"{"a":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8))
                let good = OutgoingMessage(id: "good-\(tag)", body: #"{"a":"ü"}"#)
                try await broker.pikaPublish(queue: queue, [bad, good])

                func outcome(_ id: String) -> LogLine? {
                    worker.lines.last {
                        ($0.event == "message.acked" || $0.event == "message.dead_lettered") && $0["message_id"] == id
                    }
                }
                try await poll(timeout: .seconds(20), "an outcome for both messages", lastSeen: { worker.transcript }) {
                    outcome(bad.id) != nil && outcome(good.id) != nil
                }
                let badLine = try #require(outcome(bad.id))
                try #require(badLine.event == "message.dead_lettered", "\(worker.transcript)")
                #expect(badLine["dead_letter_reason"] == "undecodable", "\(badLine)")
                #expect(outcome(good.id)?.event == "message.acked", "\(worker.transcript)")

                var dead: [PikaMessage] = []
                try await poll(timeout: .seconds(20), interval: .milliseconds(300), "the copy in \(queue).dead") {
                    dead += try await broker.pikaGet(queue: queue + ".dead", max: 10)
                    return !dead.isEmpty
                }
                #expect(dead.map(\.message_id) == [bad.id], "\(dead)")
                let headers = dead.first?.headers ?? [:]
                #expect(headers["x-warren-error-type"] == "UndecodableMessage", "\(dead)")
                #expect(headers["x-warren-error-message"]?.contains("body is not UTF-8") == true, "\(dead)")
                #expect(worker.isRunning, "\(worker.transcript)")
            }
        }
    }
}
