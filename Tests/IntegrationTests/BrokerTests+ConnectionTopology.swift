import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("WarrenConnection declaring a topology on every connect")
    struct ConnectionTopology {
        /// A publisher with no consumer anywhere: without a declared topology the publish is
        /// unroutable; with one, the queue (and its dead-letter route) exists before the first
        /// publish. After the broker force-closes the connection and the queue is deleted, the
        /// next publish reconnects, declares again, and lands.
        @Test("a publishing connection declares its queue before first use and again after a reconnect")
        func declaresOnEveryConnect() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("conn-topology") { queue in
                let name = "it.conn-topology.\(uniqueSuffix())"
                let settings = ConnectionConfiguration(url: try AMQPURL(env.amqpURL), connectionName: name)

                let bare = WarrenConnection(settings.named(name + ".bare"))
                // The one refusal meant: the broker returns the mandatory message, 312 NO_ROUTE
                // (any other AMQPError, e.g. a connect failure, would prove nothing about topology).
                let refusal = await #expect(throws: AMQPError.self) { try await bare.publish(json: ["n": 0], routingKey: queue) }
                if let refusal, refusal.code == .unroutable {
                    #expect(refusal.replyCode == 312 && refusal.replyText == "NO_ROUTE", "\(refusal)")
                } else {
                    Issue.record("expected the publish to be returned unroutable (312 NO_ROUTE), got \(String(describing: refusal))")
                }
                await bare.close()

                let topology = Topology(queue: queue, queueType: .classic)
                let connection = WarrenConnection(settings, declaring: [topology])
                let first = try await connection.publish(json: ["n": 1], routingKey: queue)
                #expect(try await broker.counts(of: topology.deadLetterQueue) != nil, "the dead-letter route is declared too")

                let open = try #require(try await broker.listConnections().first { $0.connectionName == name })
                try await broker.closeConnection(open, reason: "warren integration test")
                await broker.delete(queues: [queue])
                // The connection learns of the close asynchronously; until then a publish may
                // still go to the old one and fail: retry until one lands on a fresh connection.
                let second = try await pollValue(timeout: .seconds(10), "a publish on a fresh connection") { () -> String? in
                    try? await connection.publish(json: ["n": 2], routingKey: queue)
                }
                await connection.close()

                let fetched = try await broker.pikaGet(queue: queue, max: 5)
                #expect(fetched.map(\.message_id) == [second], "the queue was re-declared and got the second message (first was \(first))")
            }
        }
    }
}
