import Foundation
import Testing

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

        /// Without `NOTIFY_SOCKET` nothing is sent: the same worker runs as before (no socket to
        /// find, nothing logged about it).
        @Test("without NOTIFY_SOCKET the worker sends nothing")
        func silentWithoutNotifySocket() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let socket = try NotifySocket()
            defer { socket.close() }
            try await broker.withQueue("sdnotify-off") { queue in
                let worker = try WarrenProcess.worker(env, queue: queue, ["--queue-type", "classic"], environment: ["WATCHDOG_USEC": "200000"])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")
                let (end, _) = try await worker.stop()
                #expect(end == .exited(0), "\(worker.transcript)")
                #expect(socket.datagrams.isEmpty)
            }
        }
    }
}
