import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension BrokerTests {
    @Suite("Metrics: log lines dropped behind a stalled stdout")
    struct MetricsLogDropped {
        /// Runs `warren` with stdout on a pipe that is read only until the worker has logged
        /// both `worker.consuming` and `http.listening` (the test needs the port), then left
        /// unread until SIGUSR1, then copied through again line by line. First line of its own
        /// output: `{"event":"wrapper.child","pid":N}` (warren's pid).
        ///
        /// Both, in whichever order: the HTTP server and the consumer start side by side, and
        /// stopping at `worker.consuming` alone left `http.listening` unread whenever the
        /// consumer was first (a CI run timed out waiting for the port that way).
        static let stallingWrapper = """
            import json, signal, subprocess, sys, time
            released = False
            def release(*_):
                global released
                released = True
            signal.signal(signal.SIGUSR1, release)
            child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
            out = sys.stdout.buffer
            out.write((json.dumps({"event": "wrapper.child", "pid": child.pid}) + "\\n").encode())
            out.flush()
            waiting = [b'"worker.consuming"', b'"http.listening"']
            for line in iter(child.stdout.readline, b""):
                out.write(line)
                out.flush()
                waiting = [event for event in waiting if event not in line]
                if not waiting:
                    break
            while not released:
                time.sleep(0.05)
            for line in iter(child.stdout.readline, b""):
                out.write(line)
                out.flush()
            sys.exit(child.wait())
            """

        /// README: a slow log reader never blocks the worker; past 4 MiB of waiting lines, lines
        /// are dropped and counted in `warren_log_lines_dropped_total`, and a `log.dropped` line
        /// reports them once the output catches up. With stdout unread, a noop worker at debug
        /// (one `message.acked` line per message) still acks all 30,000 messages, the counter
        /// rises on the live `/metrics`, and after stdout is read again the `log.dropped` lines
        /// add up to exactly the counter.
        @Test("warren_log_lines_dropped_total counts what a stalled stdout cost, and log.dropped reports it")
        func droppedLinesCounted() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("log-dropped") { queue in
                // ~300 bytes per acked line: 30,000 lines are twice what the 4 MiB buffer and the
                // pipe hold together, so some must be dropped.
                let total = 30_000
                let published = try await warrenPublish(
                    env, ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--count", "\(total)"])
                try #require(published.succeeded, "\(published)")

                let wrapper = try WarrenProcess.launch(
                    env,
                    ["-c", Self.stallingWrapper, env.warrenBinary, "worker", "--amqp-url", env.amqpURL, "--queue", queue,
                     "--queue-type", "classic", "--handler", "noop", "--log-level", "debug", "--log-format", "json",
                     "--prefetch", "200", "--http-port", "0"],
                    executable: "python3")
                let warrenPID = try await wrapper.waitForEvent("wrapper.child")["pid"].flatMap { pid_t($0) }
                defer {
                    if let warrenPID { kill(warrenPID, SIGKILL) }
                    wrapper.forceStop()
                }
                let probe = try await wrapper.healthProbe()
                try await wrapper.waitForEvent("worker.consuming")

                let acked = #"warren_messages_acked_total{queue="\#(queue)"}"#
                let dropped = "warren_log_lines_dropped_total"
                // The worker is not held up by its stalled output: it acks everything.
                let (_, stalled) = try await probe.waitForMetrics(timeout: .seconds(120), interval: .milliseconds(500),
                                                                  "all \(total) acked") { $0[acked] == Double(total) }
                let droppedWhileStalled = try #require(stalled[dropped], "the counter is exported")
                #expect(droppedWhileStalled > 0, "lines were dropped while stdout was not read")
                #expect(wrapper.events("message.acked").isEmpty, "nothing got through the stalled pipe")

                wrapper.send(SIGUSR1)
                // The notice follows the lines that were waiting; every drop is in some notice.
                var counted = 0.0
                try await poll(timeout: .seconds(60), "log.dropped lines adding up to the counter", lastSeen: {
                    "notices \(wrapper.events("log.dropped").map(\.raw)), counter \(counted)"
                }) {
                    let (_, samples) = try await probe.waitForMetrics("the counter") { $0[dropped] != nil }
                    counted = samples[dropped] ?? -1
                    let reported = wrapper.events("log.dropped").compactMap { $0["dropped"].flatMap(Int.init) }.reduce(0, +)
                    return counted > 0 && Double(reported) == counted
                }
                #expect(counted >= droppedWhileStalled)

                if let warrenPID { kill(warrenPID, SIGTERM) }
                let end = try await wrapper.waitForExit(timeout: .seconds(30))
                #expect(end == .exited(0), "\(wrapper.transcript)")
            }
        }
    }
}
