import Foundation
import Testing
import Warren

extension BrokerTests {
    @Suite("The quorum queue's own delivery limit")
    struct DeliveryLimit {
        /// The broker's safety net, without Warren in the loop: pika returns the message again and
        /// again (as crashing consumers would) and, past `x-delivery-limit`, the quorum queue
        /// itself dead-letters it, at least once, to `Q.dead`.
        @Test("past x-delivery-limit the broker dead-letters the message to Q.dead")
        func brokerDeadLettersPastTheLimit() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("delivery-limit") { queue in
                let topology = Topology(queue: queue, queueType: .quorum, deliveryLimit: 2)
                let connection = WarrenConnection(try env.connection("it-delivery-limit"))
                try await withCleanup {
                    try await topology.declare(on: try await connection.connection())
                } cleanup: {
                    await connection.close()
                }
                let id = "limited-\(uniqueSuffix())"
                try await broker.pikaPublish(queue: queue, messages: [(id: id, body: "{}")])

                var returns = 0
                try await poll(timeout: .seconds(30), interval: .milliseconds(200), "the message gone from \(queue)", lastSeen: { "\(returns) returns" }) {
                    let returned = try await broker.pikaRequeueAll(queue: queue)
                    returns += returned
                    return returned == 0
                }
                #expect(returns == 3, "delivered 3 times: the third return is past the limit of 2")
                let dead = try await pollValue(timeout: .seconds(10), interval: .milliseconds(300), "the message in \(queue).dead") {
                    let messages = try await broker.pikaGet(queue: queue + ".dead", max: 5)
                    return messages.isEmpty ? nil : messages
                }
                #expect(dead.map(\.message_id) == [id])
                #expect(dead.first?.death_reason == "delivery_limit", "\(dead)")
            }
        }
    }
}
