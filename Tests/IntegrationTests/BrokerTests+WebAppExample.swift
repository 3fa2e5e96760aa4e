import Foundation
import Testing

extension BrokerTests {
    /// `Examples/WebAppWithWorker`: a Hummingbird app that publishes orders and a Warren consumer
    /// that processes them, in one process and one `ServiceGroup`. Runs the example's built
    /// executable (`WARREN_EXAMPLE_WEBAPP`, else `Examples/WebAppWithWorker/.build/debug/`).
    @Suite("Examples/WebAppWithWorker: orders over HTTP, processed by a consumer in the same process")
    struct WebAppExample {
        /// `GET /orders/{id}` and the `POST /orders` receipt.
        struct Order: Decodable, CustomStringConvertible {
            let id: String
            let status: String
            let item: String?
            let quantity: Int?
            let reason: String?

            var description: String { "\(id): \(status)" + (reason.map { " (\($0))" } ?? "") }
        }

        /// The `http.listening` port of a running app, and a client for it.
        struct RunningApp {
            let process: WarrenProcess
            let client: WebAppClient
        }

        /// Starts the example on `queue` (classic, so queue counts are exact) with the HTTP port
        /// picked by the kernel, and waits until it listens.
        static func start(
            _ env: TestEnvironment, queue: String, amqpURL: String? = nil, environment: [String: String] = [:]
        ) async throws -> RunningApp {
            let binary = try env.exampleBinary("WebAppWithWorker", variable: "WARREN_EXAMPLE_WEBAPP")
            let process = try WarrenProcess.launch(
                env, [],
                environment: [
                    "WARREN_AMQP_URL": amqpURL ?? env.amqpURL, "WARREN_QUEUE": queue, "WARREN_QUEUE_TYPE": "classic",
                    "WARREN_HTTP_PORT": "0",
                ].merging(environment) { $1 },
                executable: binary)
            do {
                let line = try await process.waitForEvent("http.listening")
                guard let port = line["port"].flatMap({ Int($0) }), port > 0 else {
                    throw TimeoutError(description: "http.listening has no usable port field: \(line)")
                }
                return RunningApp(process: process, client: WebAppClient(port: port))
            } catch {
                process.forceStop()
                throw error
            }
        }

        /// POSTs an order and checks the 202 receipt: `{"id":…,"status":"accepted"}` and a
        /// `Location` header naming it. Returns the id.
        static func placeOrder(_ app: RunningApp, _ body: String) async throws -> String {
            let response = try await app.client.post("/orders", json: body)
            let receipt = try #require(response.decoded(as: Order.self), "POST /orders \(body): \(response)")
            #expect(response.status == 202, "POST /orders \(body): \(response)")
            #expect(receipt.status == "accepted", "\(response)")
            #expect(response.headers["location"] == "/orders/\(receipt.id)", "\(response.headers)")
            return receipt.id
        }

        /// Polls `GET /orders/{id}` until the order has `status`.
        static func waitForStatus(_ app: RunningApp, _ id: String, _ status: String, timeout: Duration = .seconds(15)) async throws -> Order {
            var last = "no answer yet"
            return try await pollValue(
                timeout: timeout, interval: .milliseconds(100), "order \(id) to be \(status)",
                lastSeen: { "\(last)\n\(app.process.transcript)" }
            ) {
                let response = try await app.client.get("/orders/\(id)")
                last = "\(response)"
                guard response.status == 200, let order = response.decoded(as: Order.self) else { return nil }
                return order.status == status ? order : nil
            }
        }

        /// An order is accepted (202 + Location), processed by the consumer and shown as
        /// `processed`; an order the handler rejects (quantity 0) ends `failed` with the reason
        /// and lies in `<queue>.dead`; an unknown id is 404; `/metrics` counts both; SIGTERM
        /// exits 0.
        @Test("POST /orders is processed by the consumer; a rejected order ends failed and dead-lettered")
        func ordersEndToEnd() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("webapp") { queue in
                let app = try await Self.start(env, queue: queue)
                defer { app.process.forceStop() }
                // The consumer declares the queue; until then a POST is refused as unroutable.
                try await app.process.waitForEvent("worker.consuming")

                let good = try await Self.placeOrder(app, #"{"item": "book", "quantity": 2}"#)
                let processed = try await Self.waitForStatus(app, good, "processed")
                #expect(processed.item == "book" && processed.quantity == 2, "\(processed)")

                let bad = try await Self.placeOrder(app, #"{"item": "ghost", "quantity": 0}"#)
                #expect(bad != good)
                let failed = try await Self.waitForStatus(app, bad, "failed")
                #expect(failed.reason?.contains("quantity") == true, "\(failed)")

                let unknown = try await app.client.get("/orders/no-such-order")
                #expect(unknown.status == 404, "\(unknown)")

                // The rejected order, and only it, is in the dead-letter queue, not retried.
                let dead = try await pollValue(timeout: .seconds(10), interval: .milliseconds(500), "the rejected order in \(queue).dead") {
                    let messages = try await broker.pikaGet(queue: queue + ".dead", max: 5)
                    return messages.isEmpty ? nil : messages
                }
                #expect(dead.map(\.message_id) == [bad], "\(dead.map(\.body))")
                #expect(dead.first?.headers["x-warren-error-type"] == "OrderRejected", "\(dead)")
                #expect(dead.first?.headers["x-warren-attempts"] == "1", "\(dead)")
                let deadLettered = app.process.events("message.dead_lettered")
                #expect(deadLettered.map { $0["message_id"] } == [bad], "\(app.process.transcript)")
                #expect(deadLettered.first?["reason"]?.contains("quantity must be at least 1") == true, "\(deadLettered)")

                // The app's own router serves Warren's metrics: the consumer's outcomes and the
                // publisher's confirms (the two orders, and the rejected one's dead-letter copy,
                // which the consumer publishes through the same connection).
                let labels = #"queue="\#(queue)""#
                let deadLetteredSeries = #"warren_messages_dead_lettered_total{\#(labels),reason="handler_error"}"#
                var lastMetrics = ""
                let response = try await pollValue(timeout: .seconds(10), "both outcomes in /metrics", lastSeen: { lastMetrics }) {
                    () async throws -> HTTPResponse? in
                    let response = try await app.client.get("/metrics")
                    lastMetrics = "\(response.status) \(response.headers)\n\(response.body)"
                    let samples = PrometheusSamples(response.body)
                    guard response.status == 200, samples["warren_messages_acked_total{\(labels)}"] == 1,
                        samples[deadLetteredSeries] == 1
                    else { return nil }
                    return response
                }
                #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true, "\(response.headers)")
                let metrics = PrometheusSamples(response.body)
                #expect(metrics["warren_messages_received_total{\(labels)}"] == 2, "\(lastMetrics)")
                #expect(metrics[#"warren_publish_confirms_total{result="ack"}"#] == 3, "\(lastMetrics)")

                let (end, _) = try await app.process.stop(with: SIGTERM, timeout: .seconds(20))
                #expect(end == .exited(0), "\(app.process.transcript)")
                let counts = try #require(try await broker.counts(of: queue))
                #expect(counts.messages == 0 && counts.unacknowledged == 0, "\(counts)")
            }
        }

        /// SIGTERM while the consumer runs a 1.5 s order and an HTTP request is half-sent: the
        /// server stops accepting connections but answers the open request (202), the consumer
        /// finishes the running order and acks it, and the process exits 0. The order posted
        /// during shutdown is not lost: processed, or back in the queue.
        @Test("SIGTERM: the in-flight request is answered, the running order finishes and is acked, exit 0")
        func drainOnSigterm() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("webapp-drain") { queue in
                // debug: the consumer logs `message.acked` lines.
                let app = try await Self.start(env, queue: queue, environment: ["WARREN_LOG_LEVEL": "debug"])
                defer { app.process.forceStop() }
                try await app.process.waitForEvent("worker.consuming")

                let slow = try await Self.placeOrder(app, #"{"item": "slow", "quantity": 1, "work_ms": 1500}"#)
                try await app.process.waitForLine("the consumer to start order \(slow)") {
                    $0.event == "order.processing" && $0["message_id"] == slow
                }

                // A second order, its body half sent: the request is in the app's hands (logged by
                // its request-logging middleware) but cannot be answered yet.
                func postRequestsLogged() -> Int {
                    app.process.lines.filter { $0["msg"] == "Request" && $0["hb.request.method"] == "POST" }.count
                }
                let body = #"{"item": "late", "quantity": 1}"#
                let held = try await app.client.startPost("/orders", json: body, sendingFirst: 10)
                defer { held.cancel() }
                try await poll(timeout: .seconds(5), "the app to receive the second POST", lastSeen: { app.process.transcript }) {
                    postRequestsLogged() == 2
                }

                let signalled = ContinuousClock.now
                app.process.send(SIGTERM)
                // The HTTP server shuts down first: it closes its listening socket...
                try await poll(timeout: .seconds(5), "the server to stop accepting connections", lastSeen: { app.process.transcript }) {
                    let accepts = await app.client.acceptsConnections()
                    return !accepts
                }
                // ...and still answers the request it was reading.
                let late = try await held.finish()
                #expect(late.status == 202, "the in-flight request was answered: \(late)")
                let lateID = try #require(late.decoded(as: Order.self)?.id, "\(late)")

                let end = try await app.process.waitForExit(timeout: .seconds(20))
                #expect(end == .exited(0), "\(app.process.transcript)")
                let elapsed = signalled.duration(to: .now)
                #expect(elapsed < .seconds(10), "exited \(elapsed) after SIGTERM")

                // The running order finished and was acked during the drain.
                let acked = app.process.ackedIDs
                #expect(acked.contains(slow), "\(app.process.transcript)")
                #expect(app.process.events("order.processed").contains { $0["message_id"] == slow }, "\(app.process.transcript)")
                #expect(app.process.events("worker.drained").count == 1, "\(app.process.transcript)")
                for event in ["message.dead_lettered", "message.abandoned", "worker.shutdown_timeout"] {
                    #expect(app.process.events(event).isEmpty, "\(event)\n\(app.process.transcript)")
                }

                // Nothing unacked, nothing dead; the late order was processed or waits in the queue.
                let counts = try await broker.waitForCounts(of: queue, timeout: .seconds(10), "no unacked messages") {
                    $0.unacknowledged == 0
                }
                let left = counts.messages > 0 ? try await broker.pikaGet(queue: queue, max: 5).map(\.message_id) : []
                #expect(!left.contains(slow), "the slow order was acked, not requeued: \(left)")
                let lateOutcome = acked.contains(lateID) ? [] : [lateID]
                #expect(left == lateOutcome, "the late order is processed or in the queue, exactly once: acked \(acked), queue \(left)")
                let dead = try await broker.counts(of: queue + ".dead")
                #expect(dead?.messages == 0, "\(String(describing: dead))")
            }
        }

        /// The broker is unreachable (a closed loopback port): the web app serves anyway;
        /// `GET /healthz` and `GET /orders/{id}` answer, `POST /orders` answers 503 with a JSON
        /// reason within seconds, and SIGTERM still exits 0.
        @Test("broker down: GET endpoints answer, POST /orders is 503 quickly, exit 0 on SIGTERM")
        func brokerDown() async throws {
            let env = try TestEnvironment.current()
            let closedPort = try unusedLoopbackPort()
            let app = try await Self.start(
                env, queue: "it.webapp-down.\(uniqueSuffix())", amqpURL: "amqp://guest:guest@127.0.0.1:\(closedPort)/")
            defer { app.process.forceStop() }
            try await app.process.waitForEvent("worker.connect_failed")

            let health = try await app.client.get("/healthz")
            #expect(health.status == 200, "\(health)")
            #expect(!health.body.contains(#""consuming""#), "the consumer cannot be consuming: \(health)")
            let unknown = try await app.client.get("/orders/no-such-order")
            #expect(unknown.status == 404, "\(unknown)")

            let started = ContinuousClock.now
            let refused = try await app.client.post("/orders", json: #"{"item": "book", "quantity": 1}"#, timeout: .seconds(10))
            let elapsed = started.duration(to: .now)
            #expect(refused.status == 503, "\(refused)")
            #expect(elapsed < .seconds(5), "answered after \(elapsed)")
            #expect(refused.body.contains("broker is unavailable"), "a JSON reason: \(refused)")
            #expect(refused.headers["content-type"]?.hasPrefix("application/json") == true, "\(refused.headers)")
            #expect(refused.headers["retry-after"] != nil, "\(refused.headers)")
            // Log lines are written by a writer thread: the line may trail the response slightly.
            try await app.process.waitForEvent("order.publish_failed", timeout: .seconds(5))

            let stillHealthy = try await app.client.get("/healthz")
            #expect(stillHealthy.status == 200, "\(stillHealthy)")

            let (end, _) = try await app.process.stop(with: SIGTERM, timeout: .seconds(15))
            #expect(end == .exited(0), "\(app.process.transcript)")
        }
    }
}
