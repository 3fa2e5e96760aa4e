import Foundation
import Testing

extension BrokerTests {
    /// Issue 15's URL slice on a real `warren worker`: URL lists, redaction of every password in
    /// them, and the URI query parameters.
    @Suite("AMQP URL lists and query parameters")
    struct URLLists {
        /// A two-URL list whose first node refuses the login: the worker parses the list (the
        /// startup line shows both URLs redacted), is refused on the first URL and exits 69; no
        /// password of either URL appears on stdout, stderr or in a `/readyz` body.
        @Test("a refused URL list exits 69 and prints neither password")
        func refusedListPrintsNoPassword() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let firstPassword = "First" + uniqueSuffix() + "Pw"
            let secondPassword = "Second" + uniqueSuffix() + "Pw"
            // No such user: the broker refuses the login (403) on the first URL.
            let first = env.url(user: "nobody-\(uniqueSuffix())", password: firstPassword)
            let list = "\(first),amqp://other:\(secondPassword)@127.0.0.1:1/"
            try await broker.withQueue("urllist") { queue in
                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", list, "--queue", queue, "--http-port", "0", "--log-level", "trace",
                          "--max-refused-attempts", "3", "--reconnect-initial-delay", "300ms", "--reconnect-max-delay", "600ms"])
                defer { worker.forceStop() }
                let probe = try await worker.healthProbe()
                var bodies: [String] = []
                // /readyz while it is being refused; the worker may exit while we ask.
                try await poll(timeout: .seconds(20), "/readyz to say the login was refused", lastSeen: { bodies.last ?? "" }) {
                    guard let (response, _) = try? await probe.readyz() else { return true }
                    bodies.append(response.body)
                    return response.body.lowercased().contains("refused")
                }
                let end = try await worker.waitForExit(timeout: .seconds(30))
                #expect(end == .exited(69), "\(worker.transcript)")
                #expect(!bodies.isEmpty, "at least one /readyz answer")
                let startup = worker.lines.map(\.raw).filter {
                    $0.contains("amqp://other:") && $0.contains("@127.0.0.1:1/") && $0.contains("@\(env.hostAndPort)")
                }
                #expect(!startup.isEmpty, "a startup line shows both URLs, redacted:\n\(worker.transcript)")
                for line in worker.allOutputLines + bodies {
                    #expect(!line.contains(secondPassword), "the second password leaked: \(line)")
                    #expect(!line.contains(firstPassword), "the first password leaked: \(line)")
                }
            }
        }

        static let badURLs: [(query: String, named: String)] = [
            ("bogus_option=1", "bogus_option"),
            ("cacertfile=/etc/ca.pem", "cacertfile' needs TLS"),
            ("heartbeat=soon", "heartbeat"),
        ]

        /// An unknown, misplaced or malformed query parameter is a configuration error: exit 78
        /// at once, naming the parameter, never printing the URL's password.
        @Test("a bad query parameter exits 78 naming it", arguments: badURLs)
        func badQueryParameterExits78(query: String, named: String) async throws {
            let env = try TestEnvironment.current()
            let password = "Pw" + uniqueSuffix() + "Zq"
            let url = env.url(user: "guest", password: password) + "?" + query
            let worker = try WarrenProcess.launch(env, ["worker", "--amqp-url", url, "--queue", "q", "--http-port", "0"])
            defer { worker.forceStop() }
            #expect(try await worker.waitForExit(timeout: .seconds(10)) == .exited(78), "\(worker.transcript)")
            #expect(worker.stderrText.contains(named), "stderr names \(named):\n\(worker.transcript)")
            #expect(!worker.allOutputLines.contains { $0.contains(password) }, "\(worker.transcript)")
        }

        /// `heartbeat` in the URL is applied: the broker (default 60 s) agrees to the lower 7 s
        /// the URL asks for, over the worker's default 30 s.
        @Test("the URL's heartbeat parameter is negotiated")
        func heartbeatParameterApplied() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("urlheartbeat") { queue in
                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", env.amqpURL + "?heartbeat=7&channel_max=8", "--queue", queue,
                          "--queue-type", "classic", "--http-port", "0"])
                defer { worker.forceStop() }
                let connected = try await worker.waitForEvent("worker.connected")
                #expect(connected["heartbeat_s"] == "7", "\(connected)")
                try await worker.waitForEvent("worker.consuming")
            }
        }
    }
}
