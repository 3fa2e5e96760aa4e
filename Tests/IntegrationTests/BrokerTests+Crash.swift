import Foundation
import Testing

extension BrokerTests {
    @Suite("A handler that crashes the process")
    struct Crash {
        /// A handler bug that kills the process (here the demo handler's `{"crash": true}`, a
        /// `fatalError`) must not be silent: the process ends non-zero, stderr says why, and
        /// the message it was handling is still in the broker (never acked), with the good
        /// message before it acked (gone from the queue).
        @Test("dies non-zero saying why, and loses nothing")
        func crashIsLoudAndLosesNothing() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("crash") { queue in
                let declare = try await warrenPublish(
                    env, ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--body", "{}"])
                #expect(declare.succeeded, "\(declare)")
                try await broker.pikaPublish(queue: queue, messages: [(id: "crash-1", body: #"{"crash": true}"#)])

                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic",
                          "--concurrency", "1", "--prefetch", "1", "--log-level", "debug"])
                defer { worker.forceStop() }
                let end = try await worker.waitForExit(timeout: .seconds(30))
                #expect(end != .exited(0), "\(worker.transcript)")
                #expect(worker.stderrText.contains("crash requested by message crash-1"), "\(worker.transcript)")
                // The line logged right before the crash is out (the crash handler wrote what the
                // log writer thread had not yet), naming the message.
                let crashLine = try await worker.waitForEvent("demo.crash", timeout: .seconds(10))
                #expect(crashLine["message_id"] == "crash-1", "\(worker.transcript)")

                // Never acked: the broker holds the message again once the connection is gone.
                let counts = try await broker.waitForCounts(of: queue, timeout: .seconds(15), "1 ready, 0 unacked") {
                    $0.messages == 1 && $0.unacknowledged == 0
                }
                #expect(counts.ready == 1)
                // Only it: the good message before it was acked. (The broker says so; the worker's
                // `message.acked` line is logged just after the ack is queued, so the crash may
                // come before it.)
                let left = try await broker.pikaGet(queue: queue, max: 5)
                #expect(left.map(\.message_id) == ["crash-1"])
            }
        }

        /// `{"crash": true, "work_ms": N}` crashes after N ms of work, not at once: the handler is
        /// seen running (`warren_messages_in_flight` 1) before the process dies. The crash-loop
        /// test relies on it: a poison message that dies instantly can die before the messages
        /// beside it are running, and then no innocent message is ever at a crash.
        @Test("a crash with work_ms comes after the work, with the handler seen running")
        func crashAfterWork() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("crash-after-work") { queue in
                let worker = try WarrenProcess.worker(env, queue: queue, ["--queue-type", "classic"])
                defer { worker.forceStop() }
                let probe = try await worker.healthProbe()
                try await worker.waitForEvent("worker.consuming")
                try await broker.pikaPublish(queue: queue, messages: [(id: "crash-late", body: #"{"crash": true, "work_ms": 3000}"#)])
                try await probe.waitForMetrics(timeout: .seconds(10), interval: .milliseconds(20), "the crashing handler running") {
                    $0[#"warren_messages_in_flight{queue="\#(queue)"}"#] == 1
                }
                let end = try await worker.waitForExit(timeout: .seconds(30))
                #expect(end != .exited(0), "\(worker.transcript)")
                #expect(worker.stderrText.contains("crash requested by message crash-late"), "\(worker.transcript)")
            }
        }

        /// The crash handler writes the queued lines and then passes the signal on to the action
        /// that was there before it: the process still dies of the signal it got, whether that
        /// action is the default one (`SWIFT_BACKTRACE=enable=no`) or Swift's backtracer, which
        /// returns from a signal sent by `kill` (without Warren such a worker printed its
        /// backtrace and went on running). With the backtracer, only `SIGABRT`: for a `SIGSEGV`
        /// sent by `kill` its `swift-backtrace` helper outlives the process, holding its stdout.
        @Test("a worker sent a crash signal dies of that signal", arguments: [
            (SIGSEGV, false), (SIGABRT, false), (SIGABRT, true),
        ])
        func crashSignalsStillKill(signal: Int32, backtracer: Bool) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("crash-signal") { queue in
                let worker = try WarrenProcess.worker(
                    env, queue: queue, ["--queue-type", "classic"],
                    environment: ["SWIFT_BACKTRACE": backtracer ? "enable=yes" : "enable=no"])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")
                worker.send(signal)
                let end = try await worker.waitForExit(timeout: .seconds(30))
                #expect(end == .signaled(signal), "\(worker.transcript)")
            }
        }
    }
}
