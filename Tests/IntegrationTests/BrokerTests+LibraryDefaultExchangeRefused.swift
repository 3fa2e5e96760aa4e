import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: a refused publish to the default exchange is the handler's own failure")
    struct LibraryDefaultExchangeRefused {
        /// A user who may write to every exchange but the default one (`""`, which RabbitMQ checks
        /// and names as `amq.default`): a handler's follow-up to a queue by name is refused with
        /// `403 ACCESS_REFUSED - access to exchange 'amq.default' …`. That refusal is the
        /// publish's own, so it reaches the handler at once, not after tries until the publish's
        /// timeout as a close of the shared channel by a neighbour would be (the rule before
        /// matched only the literal exchange name, so `""` never matched and every refusal of a
        /// default-exchange publish was retried for the whole timeout).
        @Test("a follow-up refused on amq.default fails at once, untried again")
        func refusedDefaultExchangePublishIsNotRetried() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let user = "it-nodefault-\(uniqueSuffix())"
            let password = "Pw" + uniqueSuffix()
            // Erlang regular expressions: every resource name but exactly `amq.default`.
            try await broker.addUser(user, password: password, write: "^(?!amq\\.default$).*")
            try await withCleanup {
                try await broker.withQueue("lib.nodefault") { queue in
                    try await env.declareTopology(queue)
                    try await broker.pikaPublish(queue: queue, messages: [(id: "refused", body: "{}")])
                    let log = InProcessLog()
                    let errors = InProcessRecorder<String>()
                    let consumer = WarrenConsumer(
                        configuration: ConsumerConfiguration(queue: queue, queueType: .classic),
                        connection: .dedicated(try env.connection("it-lib-nodefault-\(uniqueSuffix())", user: user, password: password)),
                        handler: ClosureHandler { (_: [String: String], context) in
                            do {
                                // A minute: far past how long this test waits for the outcome.
                                try await context.publish(Array("{}".utf8), routingKey: queue, timeout: .seconds(60))
                                errors.append("published")
                            } catch {
                                errors.append("\(error)")
                            }
                        },
                        logger: log.logger())
                    try await withInProcessWorker([consumer], log: log) { worker in
                        try await poll(timeout: .seconds(20), "the message's outcome", lastSeen: { log.transcript }) {
                            !log.events("message.acked").isEmpty
                        }
                        try await worker.stop()
                    }
                    #expect(errors.count == 1, "\(errors.all)")
                    #expect(errors.all.allSatisfy { $0.contains("403") && $0.contains("amq.default") }, "\(errors.all)")
                    #expect(log.events("message.publish_retrying").isEmpty, "\(log.transcript)")
                }
            } cleanup: {
                await broker.deleteUser(user)
            }
        }
    }
}
