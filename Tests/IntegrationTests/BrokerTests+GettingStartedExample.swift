import Foundation
import Testing

extension BrokerTests {
    /// The program of the DocC article "Getting started" (the `GettingStarted` target of
    /// Examples/OrderWorker, whose code `make lint` keeps equal to the article's), run as the
    /// article says: it does what the article promises.
    @Suite("Examples/OrderWorker GettingStarted: the DocC article's program acks, dead-letters and drains")
    struct GettingStartedExample {
        @Test("an order is handled and acked, a zero amount dead-lettered at once as InvalidAmount, SIGTERM drains and exits 0")
        func articleProgram() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            // A target of the OrderWorker package: its executable sits beside OrderWorker's.
            let orderWorker = try env.exampleBinary("OrderWorker", variable: "WARREN_EXAMPLE_ORDER_WORKER")
            let binary = URL(fileURLWithPath: orderWorker).deletingLastPathComponent().appendingPathComponent("GettingStarted").path
            try #require(FileManager.default.isExecutableFile(atPath: binary), "\(binary) not built: scripts/build-examples.sh OrderWorker")

            try await broker.withQueue("gettingstarted") { queue in
                let worker = try WarrenProcess.launch(
                    env, [],
                    environment: ["WARREN_AMQP_URL": env.amqpURL, "WARREN_QUEUE": queue, "WARREN_LOG_LEVEL": "debug"],
                    executable: binary)
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")

                let tag = uniqueSuffix()
                let order = (id: "order-\(tag)", body: #"{"orderID": "A-1", "cents": 1250}"#)
                let zero = (id: "zero-\(tag)", body: #"{"orderID": "A-2", "cents": 0}"#)
                try await broker.pikaPublish(queue: queue, messages: [order, zero])

                let placed = try await worker.waitForLine("order placed for A-1") { $0["msg"] == "order placed" }
                #expect(placed["order_id"] == "A-1" && placed["message_id"] == order.id, "\(placed)")
                try await poll(timeout: .seconds(20), "\(order.id) acked", lastSeen: { worker.transcript }) {
                    worker.ackedIDs.contains(order.id)
                }
                let deadLettered = try await worker.waitForLine("\(zero.id) dead-lettered") {
                    $0.event == "message.dead_lettered" && $0["message_id"] == zero.id
                }
                #expect(deadLettered["error_type"] == "InvalidAmount", "\(deadLettered)")

                // The broker holds it in <queue>.dead, after one attempt (a PermanentError is not
                // retried), with the reason in its headers.
                var dead: [PikaMessage] = []
                try await poll(
                    timeout: .seconds(20), interval: .milliseconds(300), "1 message in \(queue).dead",
                    lastSeen: { dead.description }
                ) {
                    dead += try await broker.pikaGet(queue: queue + ".dead", max: 10)
                    return !dead.isEmpty
                }
                #expect(dead.map(\.message_id) == [zero.id], "\(dead)")
                #expect(dead.first?.headers["x-warren-error-type"] == "InvalidAmount", "\(dead)")
                #expect(dead.first?.headers["x-warren-attempts"] == "1", "\(dead)")

                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "\(worker.transcript)")
                #expect(worker.events("worker.drained").count == 1, "\(worker.transcript)")
            }
        }
    }
}
