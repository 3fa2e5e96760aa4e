import Foundation
import Testing

extension BrokerTests {
    /// The demo handler's two publishing commands, which `make soak` (scripts/soak.py) is built on:
    /// `record_to` is its witness of a successful handling, `publish_to_exchange` its fault of a
    /// handler whose publish breaks the publishing channel.
    @Suite("Demo handler: record_to and publish_to_exchange")
    struct DemoPublishing {
        /// One witness per successful handling, published after the work: a message that succeeds
        /// at once is witnessed at attempt 1, one that fails once at attempt 2 (not at its failed
        /// attempt), and a permanent failure never. Each witness carries the message id as its
        /// body and a fresh message id of its own.
        @Test("record_to publishes one witness per successful handling, with a fresh message id")
        func recordTo() async throws {
            try await withDemoWorker("demo-record") { broker, queue, witnessQueue, worker in
                let suffix = uniqueSuffix()
                let (once, twice, never) = ("once-\(suffix)", "twice-\(suffix)", "never-\(suffix)")
                try await broker.pikaPublish(queue: queue, messages: [
                    (id: once, body: #"{"work_ms": 1, "record_to": "\#(witnessQueue)"}"#),
                    (id: twice, body: #"{"fail_until_attempt": 2, "record_to": "\#(witnessQueue)"}"#),
                    (id: never, body: #"{"fail": "permanent", "record_to": "\#(witnessQueue)"}"#),
                ])
                try await poll(timeout: .seconds(20), "both successes acked", lastSeen: { worker.transcript }) {
                    worker.ackedIDs.count >= 2
            }
            var witnesses: [PikaMessage] = []
            try await poll(timeout: .seconds(10), interval: .milliseconds(300), "2 witnesses") {
                witnesses += try await broker.pikaGet(queue: witnessQueue, max: 10)
                return witnesses.count >= 2
            }
            // Anything published late would show now.
            try await Task.sleep(for: .milliseconds(500))
            witnesses += try await broker.pikaGet(queue: witnessQueue, max: 10)

            #expect(witnesses.map(\.body).sorted() == [once, twice], "\(witnesses)")
            let byBody = Dictionary(witnesses.map { ($0.body, $0) }, uniquingKeysWith: { first, _ in first })
            #expect(byBody[once]?.headers["demo-attempt"] == "1", "\(witnesses)")
            #expect(byBody[twice]?.headers["demo-attempt"] == "2", "witnessed at its successful attempt only: \(witnesses)")
            #expect(witnesses.allSatisfy { $0.headers["demo-redelivered"] == "False" }, "\(witnesses)")
            let witnessIDs = witnesses.compactMap(\.message_id)
            #expect(witnessIDs.count == 2 && Set(witnessIDs).count == 2, "each witness has its own id: \(witnesses)")
            #expect(Set(witnessIDs).isDisjoint(with: [once, twice]), "\(witnesses)")
            #expect(witnesses.allSatisfy { $0.delivery_mode == 2 }, "persistent: \(witnesses)")
            let dead = try await broker.pikaGet(queue: queue + ".dead", max: 5)
            #expect(dead.map(\.message_id) == [never], "\(dead)")
            }
        }

        /// A publish to an exchange that does not exist: the broker closes the publishing channel
        /// (404) and the handler's publish throws, a passing error of the handler's own, so the
        /// message is retried and then dead-lettered as `retries_exhausted` with Warren's
        /// headers. The worker goes on: the next message's witness is published and confirmed.
        @Test("publish_to_exchange to a missing exchange fails the handler; the worker publishes again afterwards")
        func publishToMissingExchange() async throws {
            try await withDemoWorker("demo-missing-x") { broker, queue, witnessQueue, worker in
                let bad = "bad-\(uniqueSuffix())"
                try await broker.pikaPublish(queue: queue, messages: [
                    (id: bad, body: #"{"publish_to_exchange": "it.no-such-exchange.\#(uniqueSuffix())"}"#),
                ])
                let line = try await worker.waitForEvent("message.dead_lettered", timeout: .seconds(30))
                #expect(line["message_id"] == bad && line["dead_letter_reason"] == "retries_exhausted", "\(line)")
                #expect(line["attempts"] == "2", "one delayed retry, then dead-lettered: \(line)")
                #expect(worker.events("message.retry_scheduled").count == 1, "\(worker.transcript)")

                let good = "good-\(uniqueSuffix())"
                try await broker.pikaPublish(queue: queue, messages: [(id: good, body: #"{"record_to": "\#(witnessQueue)"}"#)])
                let witness = try await pollValue(timeout: .seconds(20), interval: .milliseconds(300), "the next witness") {
                    try await broker.pikaGet(queue: witnessQueue, max: 5).first
            }
            #expect(witness.body == good, "\(witness)")

            let dead = try await broker.pikaGet(queue: queue + ".dead", max: 5)
            #expect(dead.map(\.message_id) == [bad], "\(dead)")
            let copy = try #require(dead.first)
            #expect(copy.headers["x-warren-attempts"] == "2", "\(copy)")
            #expect(copy.headers["x-warren-error-message"]?.contains("404") == true, "the broker's refusal is the reason: \(copy)")
            #expect(copy.headers["x-warren-error-type"] == "AMQPError", "\(copy)")
            // Its `x-death` is the retry queue's expiry hop; a nack the broker dead-lettered would say `rejected`.
            #expect(copy.death_reason != "rejected", "Warren's own copy, not a nack dead-lettered by the broker: \(copy)")
            #expect(worker.isRunning)
            }
        }

        /// Runs `body` with a demo-handler worker consuming a fresh queue (one delayed retry of
        /// 200 ms) and an empty classic witness queue beside it, deleted afterwards.
        private func withDemoWorker(
            _ label: String, _ body: (Broker, _ queue: String, _ witnessQueue: String, WarrenProcess) async throws -> Void
        ) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue(label) { queue in
                let witnessQueue = queue + ".witness"
                try await broker.declarePlainClassicQueue(witnessQueue)
                try await withCleanup {
                    let worker = try WarrenProcess.worker(env, queue: queue, ["--log-level", "debug", "--retry-delays", "200ms"])
                    defer { worker.forceStop() }
                    try await worker.waitForEvent("worker.consuming")
                    try await body(broker, queue, witnessQueue, worker)
                } cleanup: {
                    await broker.delete(queues: [witnessQueue])
                }
            }
        }
    }
}
