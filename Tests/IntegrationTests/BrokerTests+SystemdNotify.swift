import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension BrokerTests {
    @Suite("The sd_notify protocol, with a real datagram socket standing in for systemd")
    struct SystemdNotify {
        /// Started as a `Type=notify` unit would start it (`NOTIFY_SOCKET`, `WATCHDOG_USEC`), the
        /// worker says READY=1 only once consuming, pings the watchdog at half its interval, says
        /// STOPPING=1 when SIGTERM starts the drain, and exits 0.
        @Test("READY=1 once consuming, WATCHDOG=1 while running, STOPPING=1 on SIGTERM")
        func notifiesSystemd() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let socket = try NotifySocket()
            defer { socket.close() }
            try await broker.withQueue("sdnotify") { queue in
                let worker = try WarrenProcess.worker(
                    env, queue: queue, ["--queue-type", "classic"],
                    environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "400000"])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")
                try await poll(timeout: .seconds(10), "READY=1", lastSeen: { "\(socket.datagrams)" }) {
                    socket.assignments.contains("READY=1")
                }
                let beforeReady = socket.assignments.prefix { $0 != "READY=1" }
                // Ready exactly when the status became `consuming`, not before.
                #expect(beforeReady.last == "STATUS=consuming", "\(socket.datagrams)")
                #expect(!beforeReady.dropLast().contains("STATUS=consuming"), "\(socket.datagrams)")
                // 200 ms pings: several within a second or two.
                try await poll(timeout: .seconds(10), "4 watchdog pings", lastSeen: { "\(socket.datagrams)" }) {
                    socket.assignments.filter { $0 == "WATCHDOG=1" }.count >= 4
                }
                #expect(!socket.assignments.contains("STOPPING=1"))

                let (end, _) = try await worker.stop()
                #expect(end == .exited(0), "\(worker.transcript)")
                let all = socket.assignments
                let ready = try #require(all.firstIndex(of: "READY=1"))
                let stopping = try #require(all.firstIndex(of: "STOPPING=1"), "\(socket.datagrams)")
                #expect(ready < stopping)
                #expect(all.filter { $0 == "READY=1" }.count == 1 && all.filter { $0 == "STOPPING=1" }.count == 1, "\(socket.datagrams)")
            }
        }

        /// Without `NOTIFY_SOCKET` nothing is sent, not even to a socket the worker could find on
        /// its own: the witness socket sits at systemd's usual path, `/run/systemd/notify`, in a
        /// mount namespace of the worker's own (`unshare --mount`, a directory of the test bound
        /// over `/run`), so a worker falling back to that path would be heard. The same worker
        /// started there once with `NOTIFY_SOCKET=/run/systemd/notify` is heard: the witness can
        /// hear, so its silence in the second run means the worker said nothing.
        @Test("without NOTIFY_SOCKET the worker sends nothing, even with a socket at systemd's usual path",
              .enabled(if: getuid() == 0, "unshare --mount and mount --bind need root"))
        func silentWithoutNotifySocket() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let run = FileManager.default.temporaryDirectory.appendingPathComponent("warren-run-\(uniqueSuffix())")
            try FileManager.default.createDirectory(at: run.appendingPathComponent("systemd"), withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: run) }
            let socket = try NotifySocket(path: run.appendingPathComponent("systemd/notify").path)
            defer { socket.close() }
            try await broker.withQueue("sdnotify-off") { queue in
                // Control: told the path, the worker reaches the witness through the bind mount.
                let heard = try Self.workerWithOwnRun(
                    env, queue: queue, run: run.path, notifySocket: "/run/systemd/notify")
                defer { heard.forceStop() }
                try await heard.waitForEvent("worker.consuming")
                try await poll(timeout: .seconds(10), "READY=1 through /run/systemd/notify", lastSeen: { "\(socket.datagrams)" }) {
                    socket.assignments.contains("READY=1") && socket.assignments.contains("WATCHDOG=1")
                }
                let (heardEnd, _) = try await heard.stop()
                #expect(heardEnd == .exited(0), "\(heard.transcript)")
                try await poll(timeout: .seconds(5), "STOPPING=1 from the first worker", lastSeen: { "\(socket.datagrams)" }) {
                    socket.assignments.contains("STOPPING=1")
                }
                let fromFirst = socket.datagrams.count

                // The same worker, same socket, without NOTIFY_SOCKET. Its status service would
                // have sent STATUS=connecting at start, STATUS=consuming and READY=1 by the time it
                // logs worker.consuming, watchdog pings every 100 ms and STOPPING=1 on SIGTERM:
                // once it has exited, every one of them would have arrived.
                let silent = try Self.workerWithOwnRun(env, queue: queue, run: run.path, notifySocket: nil)
                defer { silent.forceStop() }
                try await silent.waitForEvent("worker.consuming")
                let (end, _) = try await silent.stop()
                #expect(end == .exited(0), "\(silent.transcript)")
                #expect(socket.datagrams.count == fromFirst, "sent without NOTIFY_SOCKET: \(socket.datagrams.dropFirst(fromFirst))")
            }
        }

        /// `warren worker` in a mount namespace of its own where `run` is mounted over `/run`,
        /// with `WATCHDOG_USEC` set and `NOTIFY_SOCKET` set to `notifySocket` or removed (also
        /// when the test itself runs under systemd). `unshare` and `sh` exec in place: the pid
        /// is the worker's.
        private static func workerWithOwnRun(
            _ env: TestEnvironment, queue: String, run: String, notifySocket: String?
        ) throws -> WarrenProcess {
            let notifyVariable = notifySocket.map { ["NOTIFY_SOCKET=\($0)"] } ?? ["-u", "NOTIFY_SOCKET"]
            let namespace = ["--mount", "--propagation", "private", "sh", "-c", #"mount --bind "$0" /run && exec "$@""#, run]
            let worker = [env.warrenBinary, "worker", "--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--http-port", "0"]
            return try WarrenProcess.launch(
                env, namespace + ["env"] + notifyVariable + ["WATCHDOG_USEC=200000"] + worker,
                executable: "/usr/bin/unshare")
        }
    }
}
