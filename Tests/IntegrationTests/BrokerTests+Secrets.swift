import Foundation
import Testing

extension BrokerTests {
    @Suite("Keeping the AMQP password out of the output")
    struct Secrets {
        /// With a user made for this test and a distinctive password, neither the worker (at
        /// trace level, in success and in a failed login) nor `warren publish` prints the password,
        /// while the startup log shows the URL with the user name and the password masked.
        @Test("no output line contains the password; the URL appears redacted")
        func passwordNeverPrinted() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let user = "warrenit-\(uniqueSuffix())"
            let password = "Pw" + uniqueSuffix() + "Zq" + uniqueSuffix()
            let wrongPassword = "Wrong" + uniqueSuffix() + "Xk" + uniqueSuffix()
            let url = env.url(user: user, password: password)
            let wrongURL = env.url(user: user, password: wrongPassword)

            try await broker.addUser(user, password: password)
            try await withCleanup {
                try await broker.withQueue("secrets") { queue in
                    var output: [(source: String, line: String)] = []

                    // A worker that connects, consumes and stops.
                    let worker = try WarrenProcess.launch(
                        env, ["worker", "--amqp-url", url, "--queue", queue, "--log-level", "trace"])
                    defer { worker.forceStop() }
                    try await worker.waitForEvent("worker.consuming")
                    let publish = try await warrenPublish(env, ["--amqp-url", url, "--queue", queue, "--count", "5"])
                    #expect(publish.succeeded, "\(publish)")
                    try await poll(timeout: .seconds(20), "5 acks", lastSeen: { worker.transcript }) {
                        worker.events("message.acked").count >= 5
                    }
                    worker.send(SIGTERM)
                    #expect(try await worker.waitForExit() == .exited(0), "\(worker.transcript)")
                    output += worker.allOutputLines.map { ("worker", $0) }
                    output += (publish.stdout + "\n" + publish.stderr).split(separator: "\n").map {
                        ("publish", String($0))
                    }

                    // The user name is shown, the password masked: amqp://<user>:<mask>@<host:port>…
                    let redacted = worker.lines.map(\.raw).filter {
                        $0.contains("amqp://\(user):") && $0.contains("@\(env.hostAndPort)")
                    }
                    #expect(!redacted.isEmpty, "a startup line shows the redacted URL:\n\(worker.transcript)")

                    // A login that fails: after its refused attempts the worker exits 69 (broker
                    // refused permanently) with a log line, and publish fails too.
                    let refused = try WarrenProcess.launch(
                        env, ["worker", "--amqp-url", wrongURL, "--queue", queue, "--log-level", "trace", "--http-port", "0",
                              "--max-refused-attempts", "2", "--reconnect-initial-delay", "50ms", "--reconnect-max-delay", "100ms"])
                    defer { refused.forceStop() }
                    let refusedEnd = try await refused.waitForExit(timeout: .seconds(30))
                    #expect(refusedEnd == .exited(69), "\(refused.transcript)")
                    #expect(!refused.lines.isEmpty, "a log line says why it stopped")
                    let refusedPublish = try await warrenPublish(
                        env, ["--amqp-url", wrongURL, "--queue", queue, "--count", "1"], timeout: .seconds(30))
                    #expect(!refusedPublish.succeeded, "\(refusedPublish)")
                    output += refused.allOutputLines.map { ("refused worker", $0) }
                    output += refusedPublish.output.split(separator: "\n").map { ("refused publish", String($0)) }

                    for (source, line) in output {
                        #expect(!line.contains(password), "\(source) printed the password: \(line)")
                        #expect(!line.contains(wrongPassword), "\(source) printed the password: \(line)")
                    }
                }
            } cleanup: {
                await broker.deleteUser(user)
            }
        }
    }
}
