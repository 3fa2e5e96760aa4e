import Foundation
import Testing

extension BrokerTests {
    @Suite("Heartbeats while handlers block the cooperative threads")
    struct Heartbeats {
        /// `--heartbeat 1` and one CPU-bound handler (`cpu_ms`: 4 s) per cooperative thread, so every
        /// thread of Swift's cooperative pool is blocked for 4 heartbeat intervals. The pool is as
        /// wide as the process's CPU set, so the worker runs under `taskset` on two of the test's
        /// CPUs (one if it has only one): the same pool width, and the same proof, on any machine.
        /// The broker closes a connection after two missed heartbeats; the worker's connection
        /// thread keeps sending them, so the same connection survives and every message is acked.
        /// Also checks the client properties: `connection_name` `warren@<host>:<pid>` and the
        /// `consumer_cancel_notify` and `connection.blocked` capabilities.
        @Test("1 s heartbeats survive 4 s of CPU-bound handlers on every cooperative thread")
        func heartbeatsWhileHandlersBlock() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("heartbeat") { queue in
                let cpus = Array(try allowedCPUs().prefix(2))
                let width = cpus.count
                // taskset execs the worker: the pid is the worker's.
                let worker = try WarrenProcess.launch(
                    env,
                    ["-c", cpus.map(String.init).joined(separator: ","), env.warrenBinary, "worker", "--amqp-url", env.amqpURL,
                     "--queue", queue, "--http-port", "0", "--queue-type", "classic", "--heartbeat", "1",
                     "--concurrency", "\(width)", "--prefetch", "\(width)", "--log-level", "debug"],
                    executable: "/usr/bin/taskset")
                defer { worker.forceStop() }
                let probe = try await worker.healthProbe()
                try await probe.waitUntilReady(timeout: .seconds(20))

                let found = try await broker.connection(ofProcess: worker.child.pid)
                let before = try #require(found, "a broker connection named warren@<host>:\(worker.child.pid)")
                #expect(before.heartbeat == 1, "negotiated heartbeat: \(before)")
                #expect(before.advertises("consumer_cancel_notify"), "\(before)")
                #expect(before.advertises("connection.blocked"), "\(before)")

                let ids = (1...width).map { "hb-\($0)-\(uniqueSuffix())" }
                try await broker.pikaPublish(queue: queue, messages: ids.map { ($0, #"{"cpu_ms": 4000}"#) })
                let published = ContinuousClock.now
                try await poll(timeout: .seconds(40), "every CPU-bound message acked", lastSeen: { worker.transcript }) {
                    Set(worker.ackedIDs).isSuperset(of: ids) || !worker.events("worker.connection_lost").isEmpty
                }
                let elapsed = published.duration(to: .now)
                #expect(worker.events("worker.connection_lost").isEmpty, "\(worker.transcript)")
                #expect(worker.events("worker.reconnecting").isEmpty, "\(worker.transcript)")
                #expect(worker.ackedIDs.sorted() == ids.sorted(), "\(worker.transcript)")
                for line in worker.events("message.acked") {
                    let duration = line["duration_ms"].flatMap { Double($0) } ?? 0
                    #expect(duration >= 3900, "the handler spun for 4 s: \(line)")
                }
                #expect(elapsed < .milliseconds(7900), "the handlers ran at once (\(elapsed) for \(width) × 4 s)")

                let after = try await broker.connection(ofProcess: worker.child.pid)
                #expect(after?.pid == before.pid, "the same connection is still open: \(after.map(\.description) ?? "none")")
                #expect(after?.state == "running", "\(after.map(\.description) ?? "none")")
                #expect(worker.events("worker.connected").count == 1, "\(worker.transcript)")

                let (end, _) = try await worker.stop(with: SIGTERM, timeout: .seconds(20))
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }
    }
}
