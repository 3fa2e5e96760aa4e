import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension BrokerTests {
    @Suite("Warren as PID 1 (as in a container without an init)")
    struct PidOne {
        /// PID 1 of a PID namespace gets no default signal actions: a process that relies on them
        /// would ignore SIGTERM and be killed after the grace period. Warren handles SIGTERM
        /// itself, so as PID 1 (`unshare --pid --fork --mount-proc`, as `docker run` without
        /// `--init` would start it) it drains the message it is running and exits 0.
        ///
        /// `unshare --pid` needs root. Outside CI a non-root run skips it, and Swift Testing says
        /// so with this reason; under CI (`CI` set, as `.ci/run` runs) it always runs, so a CI
        /// that lost root fails here instead of passing by skipping.
        @Test("as PID 1 of a new PID namespace, SIGTERM drains the running message and exits 0",
              .enabled(if: getuid() == 0 || ProcessInfo.processInfo.environment["CI"] != nil,
                       "unshare --pid needs root (never skipped under CI)"))
        func sigtermAsPidOne() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("pid1") { queue in
                // --kill-child: if the test fails, forceStop's SIGKILL to unshare takes the worker
                // with it (without it the worker, reparented, would outlive the test run).
                let process = try WarrenProcess.launch(
                    env,
                    ["--pid", "--fork", "--mount-proc", "--kill-child", env.warrenBinary, "worker", "--amqp-url", env.amqpURL, "--queue", queue,
                     "--queue-type", "classic", "--http-port", "0"],
                    executable: "/usr/bin/unshare")
                defer { process.forceStop() }
                try await process.waitForEvent("worker.consuming")

                // The worker is unshare's child; inside its namespace it is PID 1.
                let children = try String(contentsOfFile: "/proc/\(process.child.pid)/task/\(process.child.pid)/children", encoding: .utf8)
                let worker = try #require(children.split(separator: " ").first.flatMap { pid_t($0) }, "children: '\(children)'")
                let status = try String(contentsOfFile: "/proc/\(worker)/status", encoding: .utf8)
                let namespacePIDs = status.split(separator: "\n").first { $0.hasPrefix("NSpid:") }?.split(separator: "\t").dropFirst()
                #expect(namespacePIDs?.last == "1", "NSpid of the worker: \(namespacePIDs.map(Array.init) ?? [])")

                // The worker's own in-flight gauge says when the handler runs, within 20 ms; a
                // rabbitmqctl poll (~1 s per call on a busy machine) could miss a short handler.
                let probe = try await process.healthProbe()
                try await broker.pikaPublish(queue: queue, messages: [(id: "pid1-work", body: #"{"work_ms": 3000}"#)])
                try await probe.waitForMetrics(timeout: .seconds(15), interval: .milliseconds(20), "the handler running (in-flight 1)") {
                    $0[#"warren_messages_in_flight{queue="\#(queue)"}"#] == 1
                }
                kill(worker, SIGTERM)
                // unshare exits with its child's status.
                let end = try await process.waitForExit(timeout: .seconds(30))
                #expect(end == .exited(0), "\(process.transcript)")
                let drained = process.events("worker.drained")
                #expect(drained.first?["finished"] == "1", "the running message finished: \(process.transcript)")
                #expect(process.events("message.abandoned").isEmpty)
                let counts = try await broker.waitForCounts(of: queue, "empty") { $0.messages == 0 }
                #expect(counts.unacknowledged == 0, "acked before the exit")
            }
        }
    }
}
