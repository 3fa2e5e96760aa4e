import Glibc
import Synchronization
import Testing
import Warren
// `perform` holds the connection's owner thread inside a command: the wedge under test.
@testable import WarrenAMQP

extension BrokerTests {
    @Suite("Readiness that does not lie")
    struct StalledWorker {
        /// A consumer connected to a real broker whose connection thread gets stuck in a call (the
        /// test holds it in a command): deliveries cannot flow, so `/readyz`'s status turns
        /// `stalled` after `stallTimeout` and liveness fails after twice that, although the socket
        /// is open and the state machine still says consuming. Released, it is ready and alive again
        /// and handles what was published meanwhile.
        @Test("a consumer whose connection thread is wedged turns not-ready, then not-alive, and recovers")
        func wedgedOwnerThread() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("stall") { queue in
                try await env.declareTopology(queue)
                let log = InProcessLog()
                let shared = WarrenConnection(try env.connection("it.stall"))
                var configuration = ConsumerConfiguration(queue: queue, queueType: .classic)
                configuration.stallTimeout = .seconds(2)
                let status = WorkerStatus()
                let handled = Atomic<Int>(0)
                let consumer = WarrenConsumer(
                    configuration: configuration, connection: .shared(shared),
                    handler: ClosureHandler { (_: [UInt8], _) in handled.add(1, ordering: .relaxed) },
                    status: status, logger: log.logger())
                try await withInProcessWorker([shared, consumer], log: log) { _ in
                    try await log.waitFor("worker.consuming")
                    #expect(status.readiness.isReady)

                    let amqp = try await shared.connection()
                    let release = Atomic<Bool>(false)
                    let wedge = Task {
                        try await amqp.perform { _ in
                            while !release.load(ordering: .relaxed) { usleep(10_000) }
                        }
                    }
                    try await broker.pikaPublish(queue: queue, messages: [(id: "during-wedge", body: "{}")])
                    let stalled = try await pollValue(timeout: .seconds(15), "readiness to turn stalled") {
                        status.readiness.state == .stalled ? status.readiness : nil
                    }
                    #expect(!stalled.isReady)
                    #expect(stalled.reason?.contains("thread has not turned") == true, "\(stalled)")
                    #expect(handled.load(ordering: .relaxed) == 0, "nothing flows while the thread is stuck")
                    let wedged = try await pollValue(timeout: .seconds(15), "liveness to fail") {
                        status.liveness.isAlive ? nil : status.liveness
                    }
                    #expect(wedged.reason?.hasPrefix("wedged:") == true, "\(wedged)")

                    release.store(true, ordering: .relaxed)
                    try await wedge.value
                    try await poll(timeout: .seconds(15), "the message published during the wedge to be handled") {
                        handled.load(ordering: .relaxed) == 1
                    }
                    #expect(status.readiness.isReady, "\(status.readiness)")
                    #expect(status.liveness.isAlive)
                }
            }
        }
    }
}
