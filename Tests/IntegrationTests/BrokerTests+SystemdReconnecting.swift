import Foundation
import Testing

extension BrokerTests {
    @Suite("sd_notify STATUS= lines while the broker is away")
    struct SystemdReconnecting {
        /// The README promises a `STATUS=` line with each state change, `reconnecting: …` among
        /// them. The worker reaches the broker through a proxy; taking the proxy down closes the
        /// connection and refuses every new one, so the worker backs off and retries (several
        /// back-offs of up to 0.5 s, 1 s, 2 s …: longer in total than the service's 250 ms poll);
        /// bringing it up lets it consume again. READY=1 is still sent once only.
        @Test("STATUS=reconnecting: <cause> while the broker is unreachable, STATUS=consuming after, READY=1 once")
        func reportsReconnecting() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let socket = try NotifySocket()
            defer { socket.close() }
            let proxy = try await TCPProxy.start(to: env)
            defer { proxy.stop() }
            try await broker.withQueue("sdnotify-reconnect") { queue in
                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", proxy.url(env), "--queue", queue, "--queue-type", "classic"],
                    environment: ["NOTIFY_SOCKET": socket.path])
                defer { worker.forceStop() }
                try await poll(timeout: .seconds(20), "READY=1", lastSeen: { "\(socket.datagrams)\n\(worker.transcript)" }) {
                    socket.assignments.contains("READY=1")
                }
                #expect(!socket.assignments.contains { $0.hasPrefix("STATUS=reconnecting") }, "\(socket.datagrams)")

                try await proxy.takeDown()
                try await poll(timeout: .seconds(20), "STATUS=reconnecting: …", lastSeen: { "\(socket.datagrams)\n\(worker.transcript)" }) {
                    socket.assignments.contains { $0.hasPrefix("STATUS=reconnecting: ") }
                }
                // The worker's own account agrees: it lost the connection and is retrying.
                #expect(!worker.events("worker.connection_lost").isEmpty, "\(worker.transcript)")
                #expect(!worker.events("worker.reconnecting").isEmpty, "\(worker.transcript)")

                try await proxy.bringUp()
                try await poll(timeout: .seconds(30), "STATUS=consuming after STATUS=reconnecting", lastSeen: { "\(socket.datagrams)\n\(worker.transcript)" }) {
                    let all = socket.assignments
                    guard let reconnecting = all.firstIndex(where: { $0.hasPrefix("STATUS=reconnecting: ") }) else { return false }
                    return all[reconnecting...].contains("STATUS=consuming")
                }
                #expect(worker.events("worker.consuming").count == 2, "\(worker.transcript)")
                #expect(socket.assignments.filter { $0 == "READY=1" }.count == 1, "\(socket.datagrams)")

                let (end, _) = try await worker.stop()
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }
    }
}
