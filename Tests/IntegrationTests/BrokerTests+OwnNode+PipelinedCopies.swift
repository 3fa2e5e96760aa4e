import Foundation
import Testing
import Warren
import WarrenAMQP

/// The settlement pipeline (`SettlementPipeline`): failed messages' copies are confirmed many at
/// once, off the handler slots, and an original is still acked only once its copy is confirmed.
/// A memory alarm holds every copy on Warren's blocked `/publish` connection (the consuming
/// connection only consumes and acks, so the broker never blocks it): copies stay unconfirmed
/// for as long as the test needs, deterministically.
extension BrokerTests.OwnNode {
    struct Poison: Error {}

    /// An in-process consumer of `queue` (2 handler slots, prefetch 20, no retries) whose
    /// handler records each message id and fails, so every message is dead-lettered; its copies
    /// wait `copyTimeout` for their confirms.
    static func poisonConsumer(
        _ env: TestEnvironment, queue: String, connectionName: String, log: InProcessLog, handled: InProcessRecorder<String>,
        copyTimeout: Duration
    ) throws -> WarrenConsumer {
        var configuration = ConsumerConfiguration(
            queue: queue, queueType: .classic, prefetch: 20, concurrency: 2, shutdownTimeout: .seconds(60),
            retryPolicy: .none, crashLimit: nil)
        configuration.copyTimeout = copyTimeout
        return WarrenConsumer(
            configuration: configuration,
            connection: .dedicated(try env.connection(connectionName)),
            handler: ClosureHandler { (_: Job, context) in
                handled.append(context.properties.messageID ?? "?")
                throw Poison()
            },
            logger: log.logger())
    }

    /// Publishes `count` `Job`s to `queue` (topology declared first); returns their ids.
    static func publishJobs(_ env: TestEnvironment, queue: String, count: Int, label: String) async throws -> [String] {
        try await env.declareTopology(queue)
        let tag = uniqueSuffix()
        let ids = (0..<count).map { "\(label)-\($0)-\(tag)" }
        try await Broker(env).pikaPublish(queue: queue, ids.enumerated().map { OutgoingMessage(id: $1, body: #"{"n":\#($0)}"#) })
        return ids
    }

    /// A `poisonConsumer` of a fresh queue holding `count` jobs, run while a memory alarm holds
    /// every copy on its blocked `/publish` connection.
    struct HeldCopies {
        var broker: Broker
        var queue: String
        var ids: [String]
        var log: InProcessLog
        var handled: InProcessRecorder<String>
        var worker: InProcessWorker
    }

    /// Publishes `count` jobs to a fresh queue, raises a memory alarm, runs a `poisonConsumer`
    /// on it and calls `body` once its `/publish` connection is blocked (the first copy sent).
    /// The alarm is cleared on every path; the worker is stopped if `body` did not.
    ///
    /// `copyTimeout`: 60 s unless the test is about the timeout. A test that holds copies and
    /// checks the broker meanwhile makes several `rabbitmqctl` calls, seconds each on a loaded
    /// machine: with the default 10 s, the copies timed out before the alarm was cleared.
    static func withHeldCopies(
        label: String, count: Int, copyTimeout: Duration = .seconds(60), _ body: (HeldCopies) async throws -> Void
    ) async throws {
        let node = try OwnBroker.required()
        let env = try await node.running(TestEnvironment.current())
        let broker = Broker(env)
        try await broker.withQueue("settle.\(label)") { queue in
            let ids = try await Self.publishJobs(env, queue: queue, count: count, label: label)
            let log = InProcessLog()
            let handled = InProcessRecorder<String>()
            let name = "it-settle-\(label)-\(uniqueSuffix())"
            let consumer = try Self.poisonConsumer(
                env, queue: queue, connectionName: name, log: log, handled: handled, copyTimeout: copyTimeout)
            try await withCleanup {
                try await broker.raiseMemoryAlarm()
                try await withInProcessWorker([consumer], log: log, stopTimeout: .seconds(30)) { worker in
                    _ = try await broker.waitUntilBlocked(connectionNamed: name + "/publish")
                    try await body(HeldCopies(broker: broker, queue: queue, ids: ids, log: log, handled: handled, worker: worker))
                }
            } cleanup: {
                await broker.clearMemoryAlarm()
            }
        }
    }

    /// Ten failing messages, two handler slots, every copy held unconfirmed: all ten handlers
    /// still run (their copies are in flight at once, five times the slots), yet no original is
    /// acked while its copy is unconfirmed: the broker still holds all ten unacked and `Q.dead`
    /// is empty. Once the alarm clears, every copy is confirmed and every original acked.
    ///
    /// Before the pipeline, each copy held its handler slot until confirmed (or, after two
    /// 10 s timeouts, requeued): only two messages were handled while the copies were held.
    @Test("ten failures with two handler slots: all ten copies in flight at once, no original acked before its copy is confirmed")
    func copiesInFlightBeyondTheSlots() async throws {
        try await Self.withHeldCopies(label: "pipelined", count: 10) { held in
            let (broker, queue, ids, log, handled) = (held.broker, held.queue, held.ids, held.log, held.handled)
            // Well under the 20 s a held copy kept its slot before (two 10 s timeouts).
            try await poll(timeout: .seconds(8), interval: .milliseconds(50), "all ten handled while their copies are held", lastSeen: {
                "handled \(handled.all)"
            }) {
                Set(handled.all) == Set(ids)
            }
            #expect(log.events("message.dead_lettered").isEmpty, "\(log.transcript)")
            let counts = try await broker.listQueues()
            #expect(counts[queue]?.unacknowledged == 10, "no original acked before its copy is confirmed: \(counts)")
            #expect(counts[queue + ".dead"]?.messages == 0, "\(counts)")

            await broker.clearMemoryAlarm()
            try await log.waitFor("message.dead_lettered", count: 10, timeout: .seconds(30))
            try await held.worker.stop(timeout: .seconds(30))

            #expect(handled.count == 10, "each handled once: \(handled.all)")
            #expect(log.events("message.requeued").isEmpty && log.events("message.abandoned").isEmpty, "\(log.transcript)")
            let dead = try await broker.pikaGet(queue: queue + ".dead", max: 20)
            #expect(Set(dead.compactMap(\.message_id)) == Set(ids) && dead.count == 10, "\(dead.map(\.message_id))")
            let empty = try await broker.waitForCounts(of: queue, "empty") { $0.messages == 0 }
            #expect(empty.unacknowledged == 0)
        }
    }

    /// A graceful drain that begins while copies are unconfirmed waits for them: once the alarm
    /// clears, every copy is confirmed and its original acked before the connection is released
    /// (`worker.drained`, nothing abandoned), so nothing comes back to `Q` and `Q.dead` holds
    /// each message once.
    @Test("a drain with copies in flight waits for their confirms, then acks every original")
    func drainWaitsForCopiesInFlight() async throws {
        try await Self.withHeldCopies(label: "drain-pending", count: 6) { held in
            let (broker, queue, ids, log, handled) = (held.broker, held.queue, held.ids, held.log, held.handled)
            try await poll(timeout: .seconds(8), interval: .milliseconds(50), "all six handled", lastSeen: { "handled \(handled.all)" }) {
                Set(handled.all) == Set(ids)
            }
            async let stopped = held.worker.stop(timeout: .seconds(45))
            try await log.waitFor("worker.draining")
            // The drain cannot finish while the copies are held.
            #expect(log.events("worker.drained").isEmpty, "\(log.transcript)")
            await broker.clearMemoryAlarm()
            _ = try await stopped

            #expect(log.events("message.dead_lettered").count == 6, "\(log.transcript)")
            #expect(log.events("message.abandoned").isEmpty, "\(log.transcript)")
            #expect(log.events("worker.drained").count == 1, "\(log.transcript)")
            let dead = try await broker.pikaGet(queue: queue + ".dead", max: 20)
            #expect(dead.compactMap(\.message_id).sorted() == ids.sorted(), "\(dead.map(\.message_id))")
            #expect(try await broker.pikaGet(queue: queue, max: 20).isEmpty, "every original acked")
        }
    }

    /// Copies held past `copyTimeout` (10 s, the default) by a memory alarm: each times out on its own
    /// deadline, although they wait together (one timer for the run of copies), and is published
    /// once more (`message.copy_retrying` naming the timeout); once the alarm clears, every
    /// message is dead-lettered and acked, none requeued or abandoned.
    @Test("copies held past their timeout are each published once more, then dead-lettered once the alarm clears")
    func heldCopiesTimeOutAndArePublishedOnceMore() async throws {
        try await Self.withHeldCopies(label: "timeout", count: 4, copyTimeout: .seconds(10)) { held in
            let (broker, queue, ids, log) = (held.broker, held.queue, held.ids, held.log)
            // 10 s after each copy was handed over, plus a loaded machine's slack.
            let retrying = try await log.waitFor("message.copy_retrying", count: ids.count, timeout: .seconds(30))
            #expect(Set(retrying.compactMap { $0["message_id"] }) == Set(ids), "\(log.transcript)")
            #expect(retrying.allSatisfy { $0["copy_error"]?.contains("not confirmed within") == true }, "\(retrying)")
            await broker.clearMemoryAlarm()
            try await log.waitFor("message.dead_lettered", count: ids.count, timeout: .seconds(30))
            try await held.worker.stop(timeout: .seconds(30))

            #expect(log.events("message.requeued").isEmpty && log.events("message.abandoned").isEmpty, "\(log.transcript)")
            // A timed-out copy may still be stored once the alarm clears: a duplicate, never a loss.
            let dead = try await broker.pikaGet(queue: queue + ".dead", max: 20)
            #expect(Set(dead.compactMap(\.message_id)) == Set(ids), "\(dead.map(\.message_id))")
            #expect(try await broker.pikaGet(queue: queue, max: 20).isEmpty, "every original acked")
        }
    }

    /// `warren worker` (demo handler, one handler slot) is killed with SIGKILL while the copies
    /// of 20 failed messages are unconfirmed: every message survives, in `Q` (its original,
    /// never acked) or in `Q.dead` (a copy that got through): none lost.
    ///
    /// Under a memory alarm, a first failure's copy gets Warren's `/publish` connection blocked;
    /// a 1.5 s `work_ms` message next gives the broker's `connection.blocked` time to arrive, so
    /// the 20 failures after it have their copies held in the worker's memory, never written. An
    /// original acked before its copy is confirmed would be lost with them.
    @Test("SIGKILL while copies are unconfirmed: every message is still in Q or Q.dead")
    func killWithCopiesInFlightLosesNothing() async throws {
        let node = try OwnBroker.required()
        let env = try await node.running(TestEnvironment.current())
        let broker = Broker(env)
        try await broker.withQueue("settle.kill") { queue in
            try await env.declareTopology(queue)
            let tag = uniqueSuffix()
            let ids = (0..<20).map { "kill-\($0)-\(tag)" }
            try await broker.pikaPublish(queue: queue, [
                OutgoingMessage(id: "blocker-\(tag)", body: #"{"fail":"permanent"}"#),
                OutgoingMessage(id: "work-\(tag)", body: #"{"work_ms":1500}"#),
            ] + ids.map { OutgoingMessage(id: $0, body: #"{"fail":"permanent"}"#) })
            try await broker.withMemoryAlarm {
                let worker = try WarrenProcess.worker(
                    env, queue: queue, ["--queue-type", "classic", "--prefetch", "50", "--concurrency", "1", "--crash-limit", "0"])
                defer { worker.forceStop() }
                let probe = try await worker.healthProbe()
                // Every handler ran and handed its copy over (none confirmed: the alarm holds them).
                try await probe.waitForMetrics(timeout: .seconds(20), "all 22 handled") { samples in
                    samples["warren_messages_received_total{queue=\"\(queue)\"}"] == 22
                        && samples["warren_messages_in_flight{queue=\"\(queue)\"}"] == 0
                }
                _ = try await worker.stop(with: SIGKILL)
            }
            _ = try await broker.waitForCounts(of: queue, "the originals back in the queue") { $0.unacknowledged == 0 }
            let back = try await broker.pikaGet(queue: queue, max: 50).compactMap(\.message_id)
            let dead = try await broker.pikaGet(queue: queue + ".dead", max: 50).compactMap(\.message_id)
            #expect(Set(ids).subtracting(back).subtracting(dead).isEmpty, "lost; Q: \(back); Q.dead: \(dead)")
        }
    }
}
