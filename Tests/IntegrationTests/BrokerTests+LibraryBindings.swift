import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: bindings and an existing queue")
    struct LibraryBindings {
        /// A program sets `ConsumerConfiguration.bindings` and `existingQueue`: the consumer
        /// consumes a classic queue pika declared with `x-max-length` (never redeclared: the
        /// broker would refuse Warren's arguments with 406) and binds it to a topic exchange it
        /// declares; a message pika publishes there with a matching key reaches the handler, one
        /// with another key is unroutable.
        @Test("ConsumerConfiguration bindings and existingQueue work from the library")
        func bindingsFromTheLibrary() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let topic = "it.lib.bind.\(uniqueSuffix())"
            try await withCleanup {
                try await broker.withQueue("lib.bind") { queue in
                    try await broker.pikaDeclareQueue(queue, arguments: ["x-max-length": 100])
                    let log = InProcessLog()
                    let handled = InProcessRecorder<String>()
                    let handler = ClosureHandler { (_: [UInt8], context) in
                        handled.append(context.properties.messageID ?? "?")
                    }
                    let configuration = ConsumerConfiguration(
                        queue: queue, queueType: .classic, bindings: [QueueBinding(exchange: topic, bindingKey: "lib.*")],
                        existingQueue: true)
                    let consumer = WarrenConsumer(
                        configuration: configuration, connection: .dedicated(try env.connection("it-lib-bind-\(uniqueSuffix())")),
                        handler: handler, logger: log.logger())
                    try await withInProcessWorker([consumer], log: log) { worker in
                        try await log.waitFor("worker.consuming")
                        let id = "lib-\(uniqueSuffix())"
                        let unroutable = try await broker.pikaPublishRouted(exchange: topic, [
                            RoutedMessage(id: id, routingKey: "lib.match"), RoutedMessage(id: "other-\(id)", routingKey: "lib.no.match"),
                        ])
                        #expect(unroutable == ["other-\(id)"])
                        try await poll(timeout: .seconds(10), "the handler to see \(id)", lastSeen: { log.transcript }) {
                            handled.all.contains(id)
                        }
                        try await worker.stop()
                        #expect(handled.all == [id])
                    }
                }
            } cleanup: {
                await broker.delete(queues: [], exchanges: [topic])
            }
        }
    }
}
