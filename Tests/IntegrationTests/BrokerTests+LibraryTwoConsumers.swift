import Foundation
import ServiceLifecycle
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: two consumers in one process")
    struct LibraryTwoConsumers {
        struct Ping: Decodable, Sendable {
            var n: Int
        }

        /// How the two consumers connect.
        enum Sharing: String, CaseIterable, Sendable {
            /// One `WarrenConnection`, run as a service listed first.
            case shared
            /// Each consumer with its own connection.
            case dedicated
        }

        /// Two consumers on two queues, a typed handler (prefetch 3, concurrency 1) and a raw one
        /// (prefetch 7, concurrency 4). Shared: the broker shows one connection carrying both
        /// consumers, each with its own prefetch; dedicated: two connections, one consumer each.
        /// Every message of each queue is handled by its queue's handler within its concurrency;
        /// graceful shutdown returns and the connections close.
        @Test("two consumers: per-consumer prefetch and concurrency, right handler per queue, connections close", arguments: Sharing.allCases)
        func twoConsumers(sharing: Sharing) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.two.a") { queueA in
                try await broker.withQueue("lib.two.b") { queueB in
                    let log = InProcessLog()
                    let suffix = uniqueSuffix()
                    let handledA = InProcessRecorder<(queue: String, id: String, n: Int)>()
                    let handledB = InProcessRecorder<(queue: String, id: String, body: [UInt8])>()
                    let gaugeA = InProcessConcurrencyGauge()
                    let gaugeB = InProcessConcurrencyGauge()
                    let handlerA = ClosureHandler { (ping: Ping, context) in
                        try await gaugeA.measure { try await Task.sleep(for: .milliseconds(40)) }
                        handledA.append((context.queue, context.properties.messageID ?? "?", ping.n))
                    }
                    let handlerB = ClosureHandler { (body: [UInt8], context) in
                        try await gaugeB.measure { try await Task.sleep(for: .milliseconds(150)) }
                        handledB.append((context.queue, context.properties.messageID ?? "?", body))
                    }
                    let configurationA = ConsumerConfiguration(queue: queueA, queueType: .classic, prefetch: 3, concurrency: 1)
                    let configurationB = ConsumerConfiguration(queue: queueB, queueType: .classic, prefetch: 7, concurrency: 4)

                    let services: [any Service]
                    let names: [String]
                    switch sharing {
                    case .shared:
                        let name = "it-lib-shared-\(suffix)"
                        let connection = WarrenConnection(try env.connection(name), logger: log.logger())
                        services = [
                            connection,
                            WarrenConsumer(configuration: configurationA, connection: .shared(connection), handler: handlerA, logger: log.logger()),
                            WarrenConsumer(configuration: configurationB, connection: .shared(connection), handler: handlerB, logger: log.logger()),
                        ]
                        names = [name]
                    case .dedicated:
                        let nameA = "it-lib-dedicated-a-\(suffix)", nameB = "it-lib-dedicated-b-\(suffix)"
                        services = [
                            WarrenConsumer(configuration: configurationA, connection: .dedicated(try env.connection(nameA)),
                                           handler: handlerA, logger: log.logger()),
                            WarrenConsumer(configuration: configurationB, connection: .dedicated(try env.connection(nameB)),
                                           handler: handlerB, logger: log.logger()),
                        ]
                        names = [nameA, nameB]
                    }

                    let countA = 8, countB = 12
                    try await withInProcessWorker(services, log: log) { worker in
                        try await log.waitFor("worker.consuming", count: 2)

                        // The broker's view while both consume.
                        let (consumers, connectionNames) = try await broker.listConsumers()
                        let ours = consumers.filter { $0.queue == queueA || $0.queue == queueB }
                        let consumerA = ours.filter { $0.queue == queueA }, consumerB = ours.filter { $0.queue == queueB }
                        #expect(consumerA.count == 1 && consumerB.count == 1, "\(ours)")
                        #expect(consumerA.first?.prefetch == 3, "per-consumer prefetch: \(ours)")
                        #expect(consumerB.first?.prefetch == 7, "per-consumer prefetch: \(ours)")
                        switch sharing {
                        case .shared:
                            #expect(connectionNames.filter { $0 == names[0] }.count == 1, "one connection: \(connectionNames)")
                            #expect(ours.allSatisfy { $0.connectionName == names[0] }, "both consumers on it: \(ours)")
                        case .dedicated:
                            #expect(connectionNames.filter(names.contains).sorted() == names.sorted(), "two connections: \(connectionNames)")
                            #expect(consumerA.first?.connectionName == names[0] && consumerB.first?.connectionName == names[1], "\(ours)")
                        }
                        #expect(!connectionNames.contains { $0.hasPrefix("it-lib-") && $0.hasSuffix("/publish") && $0.contains(suffix) },
                                "no publishing connection until a handler publishes: \(connectionNames)")

                        try await broker.pikaPublish(queue: queueA, (0..<countA).map { OutgoingMessage(id: "a\($0)-\(suffix)", body: #"{"n":\#($0)}"#) })
                        try await broker.pikaPublish(
                            queue: queueB, (0..<countB).map { OutgoingMessage(id: "b\($0)-\(suffix)", body: "raw \($0)", contentType: "text/plain") })
                        try await log.waitFor("message.acked", count: countA + countB, timeout: .seconds(15))

                        let elapsed = try await worker.stop()
                        #expect(elapsed < .seconds(5), "graceful shutdown returned in \(elapsed)")
                    }

                    #expect(Set(handledA.all.map(\.id)) == Set((0..<countA).map { "a\($0)-\(suffix)" }))
                    #expect(handledA.count == countA)
                    #expect(handledA.all.allSatisfy { $0.queue == queueA && $0.id == "a\($0.n)-\(suffix)" }, "\(handledA.all)")
                    #expect(Set(handledB.all.map(\.id)) == Set((0..<countB).map { "b\($0)-\(suffix)" }))
                    #expect(handledB.count == countB)
                    #expect(handledB.all.allSatisfy { $0.queue == queueB && $0.id == "b\(String(decoding: $0.body, as: UTF8.self).dropFirst("raw ".count))-\(suffix)" },
                            "each raw body reached the handler with its own message: \(handledB.all.map(\.id))")
                    #expect(gaugeA.highest == 1, "concurrency 1: \(gaugeA.highest)")
                    #expect((2...4).contains(gaugeB.highest), "concurrency 4 with prefetch 7: \(gaugeB.highest)")
                    #expect(log.events("worker.stopped").count == 2, "\(log.transcript)")
                    #expect(log.events("message.dead_lettered").isEmpty, "\(log.transcript)")

                    try await poll(timeout: .seconds(10), interval: .seconds(1), "the connections \(names) to close") {
                        try await broker.connectionNames().allSatisfy { !$0.contains(suffix) }
                    }
                    #expect(try await broker.pikaGet(queue: queueA, max: 20).isEmpty)
                    #expect(try await broker.pikaGet(queue: queueB, max: 20).isEmpty)
                }
            }
        }
    }
}
