import Foundation
import Logging
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("WarrenConnection.publish with a timeout")
    struct PublishTimeoutTests {
        /// A broker address that accepts TCP and never answers (connect timeout 10 s): a publish
        /// with a 300 ms timeout gives up with `PublishTimeout` long before that, and the
        /// connection stays usable for the next call (here: it fails again the same way).
        @Test("a publish to a hung broker ends with PublishTimeout after its timeout, not the connect timeout")
        func hungBroker() async throws {
            let blackhole = try await BlackholeListener.start()
            defer { blackhole.stop() }
            let connection = WarrenConnection(ConnectionConfiguration(
                url: try AMQPURL("amqp://guest:guest@127.0.0.1:\(blackhole.port)/"), connectionName: "it.publish-timeout"))
            for _ in 0..<2 {
                let started = ContinuousClock.now
                await #expect(throws: PublishTimeout.self) {
                    try await connection.publish(json: ["n": 1], routingKey: "nowhere", timeout: .milliseconds(300))
                }
                let elapsed = started.duration(to: .now)
                #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(3), "gave up after \(elapsed)")
            }
            await connection.close()
        }

        /// A handler's `MessageContext.publish` to a broker that accepts TCP and never answers
        /// (connect timeout 60 s) ends with `PublishTimeout` after the context's publish timeout,
        /// with no `blockedReason` (nothing was blocked: nothing answered). Before, it had no
        /// timeout of its own and waited for the connect timeout (or, on a connection already
        /// open, forever).
        @Test("MessageContext.publish to a hung broker ends after the context's publish timeout")
        func contextPublishToHungBroker() async throws {
            let blackhole = try await BlackholeListener.start()
            defer { blackhole.stop() }
            let connection = WarrenConnection(ConnectionConfiguration(
                url: try AMQPURL("amqp://guest:guest@127.0.0.1:\(blackhole.port)/"), connectionName: "it.context-publish-timeout",
                connectTimeout: .seconds(60)))
            let context = MessageContext(
                queue: "nowhere", logger: Logger(label: "it"), publisher: connection, publishTimeout: .milliseconds(500))
            #expect(MessageContext(queue: "nowhere", logger: Logger(label: "it")).publishTimeout == MessageContext.defaultPublishTimeout)
            let started = ContinuousClock.now
            let outcome = try await withTimeLimit(.seconds(30)) { () -> (any Error)? in
                do {
                    try await context.publish(json: ["n": 1], routingKey: "nowhere")
                    return nil
                } catch {
                    return error
                }
            }
            let elapsed = started.duration(to: .now)
            let timeout = try #require(outcome as? PublishTimeout, "\(String(describing: outcome))")
            #expect(timeout.timeout == .milliseconds(500) && timeout.blockedReason == nil, "\(timeout)")
            #expect(elapsed >= .milliseconds(500) && elapsed < .seconds(5), "gave up after \(elapsed)")
            await connection.close()
        }

        /// With a live broker the same call returns the confirmed message id well within the timeout.
        @Test("a publish to a live broker is confirmed within its timeout")
        func liveBroker() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("publish-timeout") { queue in
                let connection = WarrenConnection(ConnectionConfiguration(url: try AMQPURL(env.amqpURL), connectionName: "it.publish-timeout"))
                let amqp = try await connection.connection()
                try await amqp.declareQueue(queue, durable: true, arguments: ["x-queue-type": "classic"])
                let id = try await connection.publish(json: ["n": 1], routingKey: queue, timeout: .seconds(10))
                await connection.close()
                let fetched = try await broker.pikaGet(queue: queue, max: 5)
                #expect(fetched.map(\.message_id) == [id])
            }
        }
    }
}
