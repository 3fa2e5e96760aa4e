import Foundation
import Testing

extension BrokerTests {
    @Suite("Rolling upgrade: workers replaced one at a time mid-stream")
    struct RollingUpgrade {
        /// Two workers share 5,000 messages of 20–200 ms work; three times one of them gets SIGTERM
        /// mid-stream while a replacement starts. Every message is acked exactly once across all
        /// the workers' logs, nothing is dead-lettered or abandoned, the queue ends empty, and each
        /// stopped worker drained and exited 0 well within its shutdown timeout.
        @Test("SIGTERM and replace a worker three times mid-stream: every message acked exactly once",
              arguments: ["classic", "quorum"])
        func rollingUpgrade(queueType: String) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("rolling") { queue in
                let total = 5000
                let lines = (0..<total).map { _ in "{\"work_ms\": \(Int.random(in: 20...200))}" }
                let publish = try await runTool(
                    env.warrenBinary,
                    ["publish", "--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", queueType, "--stdin-lines"],
                    removingEnvironment: { $0.hasPrefix("WARREN_") },
                    stdin: Data((lines.joined(separator: "\n") + "\n").utf8), timeout: .seconds(120))
                #expect(publish.succeeded, "\(publish)")
                try #require(PublishSummary(publish.stdout)?.confirmed == total, "\(publish)")

                let shutdownTimeout = Duration.seconds(10)
                let arguments = ["--queue-type", queueType, "--concurrency", "20", "--prefetch", "40",
                                 "--log-level", "debug", "--shutdown-timeout", "10s"]
                var all: [WarrenProcess] = []
                defer { all.forEach { $0.forceStop() } }
                func start() async throws -> WarrenProcess {
                    let worker = try WarrenProcess.worker(env, queue: queue, arguments)
                    all.append(worker)
                    return worker
                }
                func distinctAcked() -> Int { Set(all.flatMap(\.ackedIDs)).count }

                var running = [try await start(), try await start()]
                for worker in running { try await worker.waitForEvent("worker.consuming") }

                var stopped: [(worker: WarrenProcess, termination: Termination, elapsed: Duration)] = []
                for round in 1...3 {
                    let threshold = round * 1100
                    try await poll(
                        timeout: .seconds(60), "\(threshold) messages acked before replacement \(round)",
                        lastSeen: { "\(distinctAcked()) acked" }
                    ) { distinctAcked() >= threshold }
                    let victim = running.removeFirst()
                    victim.send(SIGTERM)
                    let signalled = ContinuousClock.now
                    let replacement = try await start()
                    running.append(replacement)
                    let end = try await victim.waitForExit(timeout: shutdownTimeout + .seconds(10))
                    stopped.append((victim, end, signalled.duration(to: .now)))
                    try await replacement.waitForEvent("worker.consuming")
                }
                #expect(distinctAcked() < total, "the last replacement happened mid-stream")

                try await poll(
                    timeout: .seconds(90), "all \(total) messages acked",
                    lastSeen: { "\(distinctAcked()) acked\n\(running.map(\.transcript).joined(separator: "\n"))" }
                ) { distinctAcked() >= total }
                try await broker.waitForCounts(of: queue, timeout: .seconds(20), "0 messages, 0 unacked") {
                    $0.messages == 0 && $0.unacknowledged == 0
                }
                for worker in running {
                    let (end, _) = try await worker.stop(with: SIGTERM, timeout: .seconds(20))
                    #expect(end == .exited(0), "\(worker.transcript)")
                }

                // Every worker's stdout has now been read to the end.
                let acks = all.flatMap(\.ackedIDs)
                #expect(Set(acks).count == total, "no message lost")
                #expect(acks.count == total, "no message acked twice: \(acks.count - Set(acks).count) duplicate acks")
                for worker in all {
                    #expect(worker.events("message.dead_lettered").isEmpty, "\(worker.transcript)")
                    #expect(worker.events("message.abandoned").isEmpty, "\(worker.transcript)")
                    #expect(worker.events("worker.shutdown_timeout").isEmpty, "\(worker.transcript)")
                    // Drains republish what they return; what a quorum queue itself gives back
                    // comes back redelivered but was never running at a crash: no replacement
                    // slows down to handle messages alone.
                    #expect(worker.events("message.isolated").isEmpty, "\(worker.transcript)")
                }
                var returned = 0
                for (worker, termination, elapsed) in stopped {
                    #expect(termination == .exited(0), "\(worker.transcript)")
                    #expect(elapsed < shutdownTimeout, "stopped after \(elapsed) (timeout \(shutdownTimeout))")
                    let draining = worker.events("worker.draining")
                    let drained = worker.events("worker.drained")
                    #expect(draining.count == 1 && draining.first?["in_flight"] != nil, "\(worker.transcript)")
                    #expect(drained.count == 1, "\(worker.transcript)")
                    // Prefetch 40 for 20 handlers, thousands of messages waiting: every drain holds
                    // deliveries it never started, and must give them back.
                    let returnedHere = drained.first?["returned"].flatMap { Int($0) }
                    #expect((returnedHere ?? 0) > 0, "the drain returned its unstarted deliveries: \(drained.first?.raw ?? "-")")
                    returned += returnedHere ?? 0
                    print("rolling upgrade (\(queueType)): worker \(worker.child.pid) stopped in \(elapsed), \(worker.ackedIDs.count) acked, drained: \(drained.first?.raw ?? "-")")
                }
                // The prefetched deliveries the drains gave back were republished as fresh copies
                // (then acked), so on a classic queue no ack anywhere is of a redelivery. (A quorum
                // queue returns itself, redelivered, what it still had in flight to a consumer that
                // cancels.)
                print("rolling upgrade (\(queueType)): \(returned) unstarted deliveries returned by the drains")
                let redelivered = all.flatMap { $0.events("message.acked") }.filter { $0["redelivered"] == "true" }
                if queueType == "classic" { #expect(redelivered.isEmpty, "\(redelivered.count) acks of redeliveries") }
            }
        }
    }
}
