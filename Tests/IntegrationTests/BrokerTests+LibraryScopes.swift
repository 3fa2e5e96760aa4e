import Foundation
import Synchronization
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: per-message handler scopes (MessageHandlerFactory)")
    struct LibraryScopes {
        struct Job: Decodable, Sendable {
            var action: String
        }

        struct JobFailed: Error {}
        struct CannotMakeHandler: Error {}

        /// What happened to one message's scope.
        struct Scope: Sendable {
            var made = 0
            var handleStarted = 0
            var tearDowns: [String] = []
        }

        /// Counts makeHandler / tearDown per message id; thread-safe.
        final class ScopeTracker: Sendable {
            private let scopes = Mutex<[String: Scope]>([:])

            init() {}

            func update(_ id: String, _ change: (inout Scope) -> Void) {
                scopes.withLock { change(&$0[id, default: Scope()]) }
            }

            var all: [String: Scope] { scopes.withLock { $0 } }

            static func describe(_ outcome: HandlerOutcome) -> String {
                switch outcome {
                case .succeeded: return "succeeded"
                case .failed(let error): return "failed(\(type(of: error)))"
                case .cancelled: return "cancelled"
                }
            }
        }

        struct ScopedHandler: MessageHandler {
            let id: String
            let tracker: ScopeTracker

            func handle(_ job: Job, context: MessageContext) async throws {
                tracker.update(id) { $0.handleStarted += 1 }
                switch job.action {
                case "fail":
                    throw JobFailed()
                case "block":
                    // Until cancelled: when the drain overruns shutdownTimeout.
                    try await Task.sleep(for: .seconds(120))
                default:
                    return
                }
            }
        }

        struct ScopedFactory: MessageHandlerFactory {
            let tracker: ScopeTracker

            func makeHandler(context: MessageContext) async throws -> ScopedHandler {
                let id = context.properties.messageID ?? "?"
                if id.hasPrefix("makefail-") { throw CannotMakeHandler() }
                tracker.update(id) { $0.made += 1 }
                return ScopedHandler(id: id, tracker: tracker)
            }

            func tearDown(_ handler: ScopedHandler, outcome: HandlerOutcome, context: MessageContext) async {
                tracker.update(handler.id) { $0.tearDowns.append(ScopeTracker.describe(outcome)) }
            }
        }

        /// Succeeding, throwing, undecodable messages, one whose `makeHandler` throws, and one
        /// whose handler blocks until cancelled when the graceful shutdown overruns a 1 s
        /// `shutdownTimeout`: `tearDown` is called exactly once per handler made, with
        /// `.succeeded` / `.failed` / `.cancelled` (that it runs before the message is settled is
        /// `tearDownBeforeSettlement`, witnessed by the broker); the cancelled
        /// message is back in the queue (redelivered, neither acked nor dead-lettered); the
        /// failures are in `<queue>.dead`.
        @Test("tearDown exactly once per handler made, with the outcome; a cancelled message goes back to the queue")
        func perMessageScopes() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.scopes") { queue in
                let log = InProcessLog()
                let tracker = ScopeTracker()
                let consumer = WarrenConsumer(
                    configuration: ConsumerConfiguration(
                        queue: queue, queueType: .classic, concurrency: 8, shutdownTimeout: .seconds(1), retryPolicy: .none),
                    connection: .dedicated(try env.connection("it-lib-scopes-\(uniqueSuffix())")),
                    handlerFactory: ScopedFactory(tracker: tracker),
                    logger: log.logger())

                let tag = uniqueSuffix()
                let ok = ["ok1-\(tag)", "ok2-\(tag)", "ok3-\(tag)"]
                let failing = ["fail1-\(tag)", "fail2-\(tag)"]
                let undecodable = ["bad1-\(tag)"]
                let makeFail = "makefail-\(tag)"
                let blocked = "block-\(tag)"
                let messages =
                    ok.map { OutgoingMessage(id: $0, body: #"{"action":"ok"}"#) }
                    + failing.map { OutgoingMessage(id: $0, body: #"{"action":"fail"}"#) }
                    + undecodable.map { OutgoingMessage(id: $0, body: "not json") }
                    + [OutgoingMessage(id: makeFail, body: #"{"action":"ok"}"#),
                       OutgoingMessage(id: blocked, body: #"{"action":"block"}"#)]

                var stopDuration = Duration.zero
                try await withInProcessWorker([consumer], log: log) { worker in
                    try await log.waitFor("worker.consuming")
                    try await broker.pikaPublish(queue: queue, messages)
                    // Everything settled except the blocked handler, which is running.
                    try await log.waitFor("message.acked", count: ok.count)
                    try await log.waitFor("message.dead_lettered", count: failing.count + undecodable.count + 1)
                    try await poll(timeout: .seconds(10), "the blocking handler to start", lastSeen: { "\(tracker.all)" }) {
                        tracker.all[blocked]?.handleStarted == 1
                    }
                    stopDuration = try await worker.stop()
                }

                let scopes = tracker.all
                for id in ok + failing + undecodable + [blocked] {
                    let scope = try #require(scopes[id], "\(id) has a scope: \(scopes)")
                    #expect(scope.made == 1, "\(id): \(scope)")
                    #expect(scope.tearDowns.count == 1, "exactly one tearDown per handler made, \(id): \(scope)")
                }
                for id in ok { #expect(scopes[id]?.tearDowns == ["succeeded"], "\(id): \(String(describing: scopes[id]))") }
                for id in failing { #expect(scopes[id]?.tearDowns == ["failed(JobFailed)"], "\(id)") }
                for id in undecodable {
                    #expect(scopes[id]?.tearDowns == ["failed(UndecodableMessage)"], "\(id)")
                    #expect(scopes[id]?.handleStarted == 0, "handle never called for an undecodable body")
                }
                #expect(scopes[blocked]?.tearDowns == ["cancelled"], "\(String(describing: scopes[blocked]))")
                #expect(scopes[makeFail] == nil, "makeHandler threw: nothing made, nothing to tear down")
                #expect(scopes.count == ok.count + failing.count + undecodable.count + 1)

                // The shutdown waited for the 1 s deadline, then cancelled the blocked handler.
                #expect(stopDuration >= .milliseconds(900) && stopDuration < .seconds(6), "stopped in \(stopDuration)")
                let abandoned = log.events("message.abandoned")
                #expect(abandoned.map { $0["message_id"] } == [blocked], "\(log.transcript)")
                let timeout = log.events("worker.shutdown_timeout")
                #expect(timeout.count == 1 && timeout.first?["abandoned"] == "1", "\(log.transcript)")
                let makeFailRecord = log.events("message.dead_lettered").first { $0["message_id"] == makeFail }
                #expect(makeFailRecord?["error_type"] == "CannotMakeHandler", "\(log.transcript)")

                // The broker's view: the blocked message is back (redelivered next time), the failures are dead.
                let left = try await broker.pikaGet(queue: queue, max: 10)
                #expect(left.map(\.message_id) == [blocked], "\(left)")
                #expect(left.first?.redelivered == true, "\(left)")
                let dead = try await broker.pikaGet(queue: queue + ".dead", max: 20)
                #expect(Set(dead.compactMap(\.message_id)) == Set(failing + undecodable + [makeFail]), "\(dead)")
                #expect(dead.count == failing.count + undecodable.count + 1, "\(dead)")
            }
        }

        /// What the broker said about the queue while one message's scope was torn down.
        struct TearDownWitness: Sendable {
            var messageID: String
            var outcome: String
            var counts: QueueCounts?
            var deadCounts: QueueCounts?
        }

        /// Asks the broker, from inside `tearDown`, how many of the queue's messages are
        /// delivered and not yet acked.
        struct BrokerWitnessFactory: MessageHandlerFactory {
            let tracker: ScopeTracker
            let broker: Broker
            let queue: String
            let witnesses: InProcessRecorder<TearDownWitness>

            func makeHandler(context: MessageContext) async throws -> ScopedHandler {
                ScopedHandler(id: context.properties.messageID ?? "?", tracker: tracker)
            }

            func tearDown(_ handler: ScopedHandler, outcome: HandlerOutcome, context: MessageContext) async {
                let queues = try? await broker.listQueues()
                witnesses.append(TearDownWitness(
                    messageID: handler.id, outcome: ScopeTracker.describe(outcome), counts: queues?[queue],
                    deadCounts: queues?[queue + ".dead"]))
            }
        }

        /// One message at a time in the queue (published only once the previous one is gone),
        /// so while a message is torn down the broker's `messages_unacknowledged` for the queue
        /// counts it alone: 1 means it is still unacked, and an empty `Q.dead` that a failure's
        /// copy is not published yet. A succeeding, a throwing and an undecodable message: each is
        /// torn down while the broker still holds it unacked, then settled (acked, or
        /// dead-lettered and acked).
        @Test("tearDown runs while the broker still holds the message unacked")
        func tearDownBeforeSettlement() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.scopes.order") { queue in
                let log = InProcessLog()
                let witnesses = InProcessRecorder<TearDownWitness>()
                let consumer = WarrenConsumer(
                    configuration: ConsumerConfiguration(
                        queue: queue, queueType: .classic, prefetch: 1, concurrency: 1, retryPolicy: .none),
                    connection: .dedicated(try env.connection("it-lib-scopes-order-\(uniqueSuffix())")),
                    handlerFactory: BrokerWitnessFactory(tracker: ScopeTracker(), broker: broker, queue: queue, witnesses: witnesses),
                    logger: log.logger())
                let tag = uniqueSuffix()
                let messages = [
                    OutgoingMessage(id: "ok-\(tag)", body: #"{"action":"ok"}"#),
                    OutgoingMessage(id: "fail-\(tag)", body: #"{"action":"fail"}"#),
                    OutgoingMessage(id: "bad-\(tag)", body: "not json"),
                ]
                try await withInProcessWorker([consumer], log: log) { worker in
                    try await log.waitFor("worker.consuming")
                    for message in messages {
                        try await broker.pikaPublish(queue: queue, [message])
                        // A `rabbitmqctl` call runs inside each tearDown: on a loaded 2-core machine
                        // one alone took over 20 s (load 10), so allow what its own 60 s limit does.
                        try await poll(timeout: .seconds(90), "the tearDown of \(message.id)", lastSeen: { log.transcript }) {
                            witnesses.all.contains { $0.messageID == message.id }
                        }
                        // Settled before the next one is published.
                        try await broker.waitForCounts(of: queue, timeout: .seconds(60), "\(message.id) settled") { $0.messages == 0 }
                    }
                    try await worker.stop()
                }

                let byID = Dictionary(witnesses.all.map { ($0.messageID, $0) }) { first, _ in first }
                #expect(witnesses.count == messages.count, "one tearDown each: \(witnesses.all)")
                #expect(byID["ok-\(tag)"]?.outcome == "succeeded" && byID["fail-\(tag)"]?.outcome == "failed(JobFailed)"
                            && byID["bad-\(tag)"]?.outcome == "failed(UndecodableMessage)", "\(witnesses.all)")
                for message in messages {
                    let counts = try #require(byID[message.id]?.counts, "the broker answered during \(message.id)'s tearDown")
                    #expect(counts.unacknowledged == 1 && counts.ready == 0, "\(message.id) still unacked at tearDown: \(counts)")
                }
                // The earlier failure's copy is in Q.dead by the time the undecodable one is torn
                // down; none is there yet while the first failure is.
                #expect(byID["fail-\(tag)"]?.deadCounts?.messages == 0, "\(witnesses.all)")
                #expect(byID["bad-\(tag)"]?.deadCounts?.messages == 1, "\(witnesses.all)")
                // Then settled: acked, or dead-lettered (copied to Q.dead, then acked).
                let dead = try await broker.pikaGet(queue: queue + ".dead", max: 10)
                #expect(Set(dead.compactMap(\.message_id)) == ["fail-\(tag)", "bad-\(tag)"], "\(dead)")
                #expect(log.events("message.acked").map { $0["message_id"] } == ["ok-\(tag)"], "\(log.transcript)")
            }
        }
    }
}
