import Foundation
import Testing

extension BrokerTests {
    @Suite("Examples/OrderWorker: typed orders, a ledger transaction per message, dead letters, drain")
    struct OrderWorkerExample {
        /// One line of the example's ledger file.
        struct LedgerLine: Decodable, Equatable {
            let orderID: String
            let customer: String
            let amountCents: Int
        }

        static func ledgerLines(_ path: String) throws -> [LedgerLine] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
                try JSONDecoder().decode(LedgerLine.self, from: Data($0.utf8))
            }
        }

        static func order(_ id: String, cents: Int) -> String {
            #"{"orderID":"\#(id)","customer":"ada@example.com","amountCents":\#(cents)}"#
        }

        /// Starts the built example on `queue` with its ledger at `ledger` and waits until it consumes.
        static func launch(_ env: TestEnvironment, queue: String, ledger: String) async throws -> WarrenProcess {
            let binary = try env.exampleBinary("OrderWorker", variable: "WARREN_EXAMPLE_ORDER_WORKER")
            let worker = try WarrenProcess.launch(
                env, [],
                environment: [
                    "WARREN_AMQP_URL": env.amqpURL, "WARREN_QUEUE": queue, "WARREN_HTTP_PORT": "0",
                    "WARREN_LOG_LEVEL": "debug", "ORDER_LEDGER": ledger,
                ],
                executable: binary)
            do {
                try await worker.waitForEvent("worker.consuming")
            } catch {
                worker.forceStop()
                throw error
            }
            return worker
        }

        /// Three valid orders, a repeat of one of them under another message id, one with a
        /// negative amount and one undecodable body, from pika. Then a restarted worker on the same
        /// ledger gets the repeat again from `amqp-publish`, and a SIGTERM in the middle of a
        /// 300-order batch drains: nothing is lost or recorded twice.
        @Test("valid orders are recorded once each, bad ones dead-lettered with reasons, SIGTERM drains and exits 0")
        func ordersEndToEnd() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("order-worker-\(uniqueSuffix())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let ledger = directory.appendingPathComponent("orders.jsonl").path

            try await broker.withQueue("orderworker") { queue in
                let worker = try await Self.launch(env, queue: queue, ledger: ledger)
                defer { worker.forceStop() }

                let tag = uniqueSuffix()
                let valid = [
                    (id: "o1-\(tag)", body: Self.order("o-1", cents: 1250)),
                    (id: "o2-\(tag)", body: Self.order("o-2", cents: 4200)),
                    (id: "o3-\(tag)", body: Self.order("o-3", cents: 99)),
                    (id: "o2-again-\(tag)", body: Self.order("o-2", cents: 4200)),
                ]
                let invalid = (id: "negative-\(tag)", body: Self.order("o-4", cents: -500))
                let junk = (id: "junk-\(tag)", body: #"{"orderID": 7}"#)
                let all = valid + [invalid, junk]
                try await broker.pikaPublish(queue: queue, messages: all)

                let ids = Set(all.map(\.id))
                func closed() -> [LogLine] {
                    worker.events("order.transaction_closed").filter { $0["message_id"].map(ids.contains) == true }
                }
                func settled() -> [LogLine] {
                    worker.lines.filter {
                        ($0.event == "message.acked" || $0.event == "message.dead_lettered") && $0["message_id"].map(ids.contains) == true
                    }
                }
                try await poll(timeout: .seconds(20), "all 6 messages acked or dead-lettered", lastSeen: { worker.transcript }) {
                    Set(settled().compactMap { $0["message_id"] }) == ids
                }
                #expect(settled().count == 6, "one outcome per message\n\(worker.transcript)")

                // Every valid message is acked, each order is in the ledger once.
                for message in valid {
                    #expect(worker.ackedIDs.filter { $0 == message.id }.count == 1, "\(message.id) acked once\n\(worker.transcript)")
                }
                #expect(try Self.ledgerLines(ledger).map(\.orderID).sorted() == ["o-1", "o-2", "o-3"])
                #expect(worker.events("order.recorded").compactMap { $0["order_id"] }.sorted() == ["o-1", "o-2", "o-3"])
                #expect(worker.events("order.duplicate").compactMap { $0["order_id"] } == ["o-2"])

                // The invalid and the undecodable message are dead-lettered with their reasons.
                let deadLettered = Dictionary(
                    worker.events("message.dead_lettered").compactMap { line in line["message_id"].map { ($0, line) } }
                ) { first, _ in first }
                #expect(deadLettered.count == 2, "\(worker.transcript)")
                let invalidLine = try #require(deadLettered[invalid.id], "\(worker.transcript)")
                #expect(invalidLine["reason"]?.contains("amountCents must be positive, got -500") == true, "\(invalidLine)")
                #expect(invalidLine["error_type"] == "InvalidOrder", "\(invalidLine)")
                let junkLine = try #require(deadLettered[junk.id], "\(worker.transcript)")
                #expect(junkLine["error_type"] == "UndecodableMessage", "\(junkLine)")
                #expect(junkLine["reason"]?.contains("OrderPlaced") == true, "\(junkLine)")

                // tearDown ran once per message: committed for the acked ones, rolled back otherwise.
                for message in all {
                    let lines = closed().filter { $0["message_id"] == message.id }
                    #expect(lines.count == 1, "one teardown for \(message.id): \(lines)")
                    let succeeded = valid.contains { $0.id == message.id }
                    #expect(lines.first?["transaction"] == (succeeded ? "committed" : "rolled_back"), "\(lines)")
                    #expect(lines.first?["outcome"]?.hasPrefix(succeeded ? "succeeded" : "failed: ") == true, "\(lines)")
                }

                // The broker holds both bad messages in <queue>.dead, bodies as published.
                var dead: [PikaMessage] = []
                try await poll(
                    timeout: .seconds(20), interval: .milliseconds(300), "2 messages in \(queue).dead",
                    lastSeen: { dead.map(\.body).description }
                ) {
                    dead += try await broker.pikaGet(queue: queue + ".dead", max: 10)
                    return dead.count >= 2
                }
                #expect(dead.count == 2)
                for message in [invalid, junk] {
                    let fetched = dead.first { $0.message_id == message.id }
                    #expect(fetched?.body == message.body, "\(message.id) in \(queue).dead: \(dead)")
                    #expect(fetched?.headers["x-warren-attempts"] == "1", "permanent: dead-lettered at once: \(dead)")
                }

                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "\(worker.transcript)")
            }

            try await broker.withQueue("orderworker") { queue in
                // A restarted worker reads the ledger back: the repeat of an old order is skipped.
                let worker = try await Self.launch(env, queue: queue, ledger: ledger)
                defer { worker.forceStop() }
                try await broker.amqpPublish(queue: queue, body: Self.order("o-1", cents: 1250))
                try await worker.waitForLine("order.duplicate for o-1") {
                    $0.event == "order.duplicate" && $0["order_id"] == "o-1"
                }
                #expect(worker.events("order.recorded").isEmpty, "\(worker.transcript)")

                // SIGTERM while a batch is still arriving and being recorded: the worker drains and
                // exits 0; every order is either in the ledger or back in the queue, never both,
                // never lost.
                let batch = (1...300).map { (id: "b\($0)-\(uniqueSuffix())", body: Self.order("b-\($0)", cents: $0)) }
                async let published: Void = broker.pikaPublish(queue: queue, messages: batch)
                try await worker.waitForEvent("order.recorded")
                worker.send(SIGTERM)
                #expect(try await worker.waitForExit(timeout: .seconds(30)) == .exited(0), "\(worker.transcript)")
                try await published
                #expect(worker.events("worker.drained").count == 1, "\(worker.transcript)")

                let recorded = Set(try Self.ledgerLines(ledger).map(\.orderID)).subtracting(["o-1", "o-2", "o-3"])
                // The worker is gone, so basic.get sees every message left in the queue.
                let left = try await broker.pikaGet(queue: queue, max: 301)
                let leftOrders = try Set(left.map { try JSONDecoder().decode(LedgerLine.self, from: Data($0.body.utf8)).orderID })
                #expect(try Self.ledgerLines(ledger).count == 3 + recorded.count, "no order recorded twice")
                #expect(recorded.isDisjoint(with: leftOrders), "an order both recorded and requeued")
                #expect(recorded.union(leftOrders) == Set((1...300).map { "b-\($0)" }), "orders lost: recorded \(recorded.count), left \(leftOrders.count)")
                let closedCount = worker.events("order.transaction_closed").count
                #expect(closedCount == 1 + recorded.count, "one teardown per handled message\n\(worker.transcript)")
            }
        }
    }
}
