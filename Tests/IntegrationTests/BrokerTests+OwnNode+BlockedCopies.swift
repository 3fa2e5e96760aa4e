import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests.OwnNode {
    struct Job: Codable, Sendable {
        var n: Int
    }

    struct Transient: Error {}

    /// An in-process consumer of `queue` whose handler fails every first attempt with a passing
    /// error (so each message needs a retry copy) and succeeds on the second.
    static func failingOnceConsumer(
        _ env: TestEnvironment, queue: String, connectionName: String, log: InProcessLog, shutdownTimeout: Duration = .seconds(25)
    ) throws -> WarrenConsumer {
        WarrenConsumer(
            configuration: ConsumerConfiguration(
                queue: queue, queueType: .classic, prefetch: 10, concurrency: 5, shutdownTimeout: shutdownTimeout,
                // No crash guard: its markers would wait on the blocked connection too.
                retryPolicy: RetryPolicy(delays: [.milliseconds(100)]), crashLimit: nil),
            connection: .dedicated(try env.connection(connectionName)),
            handler: ClosureHandler { (_: Job, context) in
                if context.attempt < 2 { throw Transient() }
            },
            logger: log.logger())
    }

    /// Declares `queue`'s topology and publishes three `Job`s to it; returns their ids and a
    /// unique connection name for the consumer.
    static func publishThreeJobs(_ env: TestEnvironment, queue: String, label: String) async throws -> (ids: [String], name: String) {
        try await env.declareTopology(queue)
        let tag = uniqueSuffix()
        let ids = (0..<3).map { "\(label)-\($0)-\(tag)" }
        try await Broker(env).pikaPublish(queue: queue, ids.enumerated().map { OutgoingMessage(id: $1, body: #"{"n":\#($0)}"#) })
        return (ids, "it-settle-\(label)-\(tag)")
    }

    /// Three messages fail under a memory alarm, so their retry copies wait on Warren's blocked
    /// `/publish` connection; then `rabbitmqctl close_connection` kills that connection with the
    /// copies in flight. Every copy is published once more on a fresh connection (still blocked
    /// until the alarm clears), and once the alarm is cleared every message is retried and acked
    /// on attempt 2: nothing is dead-lettered, `Q.dead` stays empty.
    ///
    /// Before, the failed confirms nacked the originals without requeue: the broker dead-lettered
    /// them to `Q.dead` as `copy_failed`, transient failures with retries left.
    @Test("the publishing connection force-closed with copies in flight: copies published again, nothing dead-lettered")
    func publisherClosedWithCopiesInFlight() async throws {
        let node = try OwnBroker.required()
        let env = try await node.running(TestEnvironment.current())
        let broker = Broker(env)
        try await broker.withQueue("settle.forced") { queue in
            let (ids, name) = try await Self.publishThreeJobs(env, queue: queue, label: "forced")
            let log = InProcessLog()
            let consumer = try Self.failingOnceConsumer(env, queue: queue, connectionName: name, log: log)
            try await withCleanup {
                try await broker.raiseMemoryAlarm()
                try await withInProcessWorker([consumer], log: log, stopTimeout: .seconds(30)) { worker in
                    let publisher = try await broker.waitUntilBlocked(connectionNamed: name + "/publish")
                    try await broker.closeConnection(publisher, reason: "test: copies in flight")
                    try await log.waitFor("message.copy_retrying", count: ids.count, timeout: .seconds(20))
                    #expect(log.events("message.dead_lettered").isEmpty, "\(log.transcript)")
                    await broker.clearMemoryAlarm()
                    try await poll(timeout: .seconds(60), interval: .milliseconds(100), "every message acked on attempt 2", lastSeen: { log.transcript }) {
                        let acked = log.events("message.acked").filter { $0["attempt"] == "2" }.compactMap { $0["message_id"] }
                        return Set(acked).isSuperset(of: ids)
                    }
                    try await worker.stop(timeout: .seconds(30))
                }
            } cleanup: {
                await broker.clearMemoryAlarm()
            }
            #expect(log.events("message.dead_lettered").isEmpty, "\(log.transcript)")
            #expect(try await broker.pikaGet(queue: queue + ".dead", max: 10).isEmpty, "nothing in Q.dead")
        }
    }

    /// Three messages fail under a memory alarm, so their retry copies wait on Warren's blocked
    /// `/publish` connection; the consumer is then stopped with a 2 s shutdown timeout, which
    /// passes while the copies wait. The cancelled copies leave their originals unacked
    /// (`message.abandoned`, reason `cancelled while publishing its copy`): `Q.dead` stays empty
    /// and the broker gives all three back to `Q`.
    ///
    /// Before, the copies' `CancellationError` nacked the originals without requeue, so the
    /// broker dead-lettered them (`copy_failed`) although their handler had a retry left.
    @Test("the drain deadline passes while copies wait: the messages stay unacked and come back, none dead-lettered")
    func drainDeadlineDuringCopies() async throws {
        let node = try OwnBroker.required()
        let env = try await node.running(TestEnvironment.current())
        let broker = Broker(env)
        try await broker.withQueue("settle.cancel") { queue in
            let (ids, name) = try await Self.publishThreeJobs(env, queue: queue, label: "cancel")
            let log = InProcessLog()
            let consumer = try Self.failingOnceConsumer(env, queue: queue, connectionName: name, log: log, shutdownTimeout: .seconds(2))
            try await broker.withMemoryAlarm {
                try await withInProcessWorker([consumer], log: log, stopTimeout: .seconds(30)) { worker in
                    _ = try await broker.waitUntilBlocked(connectionNamed: name + "/publish")
                    try await worker.stop(timeout: .seconds(30))
                }
                // Normally all three are cut short in their copy; on a slow machine a copy may have
                // timed out twice first, and its message been requeued and given back unstarted.
                let abandoned = log.events("message.abandoned")
                #expect(!abandoned.isEmpty && abandoned.allSatisfy { $0["reason"]?.hasPrefix("cancelled") == true }, "\(log.transcript)")
                #expect(log.events("message.dead_lettered").isEmpty, "\(log.transcript)")
                #expect(try await broker.pikaGet(queue: queue + ".dead", max: 10).isEmpty, "nothing in Q.dead")
            }
            // Unacked when the consumer's connection closed: the broker put them back in Q.
            let back = try await broker.pikaGet(queue: queue, max: 20)
            #expect(Set(back.compactMap(\.message_id)).isSuperset(of: ids), "\(back)")
        }
    }

    /// `MessageContext.publish` on a connection the broker blocks (memory alarm) gives up after
    /// the context's `publishTimeout` with a `PublishTimeout` that names the broker's reason,
    /// and `WarrenConnection.blockedReason` says the same. Before, it had no timeout at all and
    /// waited for the alarm to clear, however long that took.
    @Test("MessageContext.publish on a blocked connection ends with PublishTimeout naming the block")
    func contextPublishWhileBlocked() async throws {
        let node = try OwnBroker.required()
        let env = try await node.running(TestEnvironment.current())
        let broker = Broker(env)
        try await broker.withQueue("settle.ctx-publish") { queue in
            try await env.declareTopology(queue)
            let connection = WarrenConnection(try env.connection("it-settle-ctx-publish-\(uniqueSuffix())"))
            let log = InProcessLog()
            let context = MessageContext(queue: queue, logger: log.logger(), publisher: connection, publishTimeout: .seconds(1))
            try await broker.withMemoryAlarm {
                for _ in 0..<2 {
                    let started = ContinuousClock.now
                    let outcome = try await withTimeLimit(.seconds(30)) { () -> (any Error)? in
                        do {
                            try await context.publish(json: ["n": 1], routingKey: queue)
                            return nil
                        } catch {
                            return error
                        }
                    }
                    let elapsed = started.duration(to: .now)
                    let timeout = try #require(outcome as? PublishTimeout, "\(String(describing: outcome))")
                    #expect(timeout.timeout == .seconds(1))
                    #expect(timeout.blockedReason?.isEmpty == false, "\(timeout)")
                    #expect("\(timeout)".contains("blocked"), "\(timeout)")
                    #expect(elapsed >= .seconds(1) && elapsed < .seconds(5), "gave up after \(elapsed)")
                }
                #expect(connection.blockedReason != nil)
            }
            await connection.close()
        }
    }
}
