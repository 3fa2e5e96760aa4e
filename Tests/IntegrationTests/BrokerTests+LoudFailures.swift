import Foundation
import Testing

extension BrokerTests {
    @Suite("Failing loudly: permanent refusals exit 69, invalid settings exit 78")
    struct LoudFailures {
        /// A refusal that retrying cannot fix.
        enum Refusal: String, CaseIterable, Sendable, CustomTestStringConvertible {
            case wrongPassword, missingVhost, incompatibleQueue

            var testDescription: String {
                switch self {
                case .wrongPassword: "wrong password (403 ACCESS_REFUSED)"
                case .missingVhost: "missing vhost (530 NOT_ALLOWED)"
                case .incompatibleQueue: "queue declared incompatibly (406 PRECONDITION_FAILED)"
                }
            }
        }

        /// After `--max-refused-attempts 3` consecutive refusals (with short back-offs) the worker
        /// exits 69 with a `worker.failed` line that gives the broker's reason, never ready, and
        /// never printing the password.
        @Test("a permanent refusal, retried 3 times, exits 69 with the broker's reason", arguments: Refusal.allCases)
        func permanentRefusalExits69(_ refusal: Refusal) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("refused") { queue in
                let password = "Pw" + uniqueSuffix() + "Zq"
                var url = env.amqpURL
                let expected: [String]
                switch refusal {
                case .wrongPassword:
                    url = env.url(user: "guest", password: password)
                    expected = ["403", "ACCESS_REFUSED"]
                case .missingVhost:
                    var components = URLComponents(string: env.amqpURL)!
                    components.path = "/it-missing-\(uniqueSuffix())"
                    url = components.string!
                    expected = ["530", "NOT_ALLOWED"]
                case .incompatibleQueue:
                    // Classic and without the dead-letter argument; warren declares quorum + DLX.
                    try await broker.declarePlainClassicQueue(queue)
                    expected = ["406", "PRECONDITION_FAILED"]
                }
                let started = ContinuousClock.now
                let worker = try WarrenProcess.launch(
                    env,
                    ["worker", "--amqp-url", url, "--queue", queue, "--http-port", "0", "--log-level", "debug",
                     "--max-refused-attempts", "3", "--reconnect-initial-delay", "100ms", "--reconnect-max-delay", "200ms"])
                defer { worker.forceStop() }
                let end = try await worker.waitForExit(timeout: .seconds(40))
                #expect(end == .exited(69), "\(worker.transcript)")
                print("\(refusal): exit after \(started.duration(to: .now))")

                let failed = worker.events("worker.failed")
                #expect(failed.count == 1, "\(worker.transcript)")
                let error = failed.first?["error"] ?? ""
                for word in expected {
                    #expect(error.contains(word), "worker.failed names \(word): \(failed.first?.raw ?? "none")")
                }
                #expect(failed.first?["exit_code"] == "69", "\(failed.first?.raw ?? "none")")
                #expect(worker.lastConnectAttempt == 3, "3 attempts, then give up\n\(worker.transcript)")
                #expect(worker.events("worker.consuming").isEmpty)
                for line in worker.allOutputLines {
                    #expect(!line.contains(password), "the password was printed: \(line)")
                }
            }
        }

        static let invalidSettings: [InvalidSetting] = [
            .init(environment: ["WARREN_SHUTDOWN_TIMEOUT": "soon"], arguments: [], key: "WARREN_SHUTDOWN_TIMEOUT"),
            .init(environment: [:], arguments: ["--http-port", "70000"], key: "--http-port"),
            .init(environment: ["WARREN_HTTP_PORT": "web"], arguments: [], key: "WARREN_HTTP_PORT"),
            // `=`: ArgumentParser would read a separate `-1` as an option, a usage error (64).
            .init(environment: [:], arguments: ["--heartbeat=-1"], key: "--heartbeat"),
            .init(environment: ["WARREN_HEARTBEAT": "-1"], arguments: [], key: "WARREN_HEARTBEAT"),
            .init(environment: ["WARREN_RECONNECT_INITIAL_DELAY": "fast"], arguments: [], key: "WARREN_RECONNECT_INITIAL_DELAY"),
            .init(environment: [:], arguments: ["--reconnect-max-delay", "2parsecs"], key: "--reconnect-max-delay"),
            .init(environment: ["WARREN_MAX_REFUSED_ATTEMPTS": "many"], arguments: [], key: "WARREN_MAX_REFUSED_ATTEMPTS"),
            .init(environment: [:], arguments: ["--shutdown-timeout=-3s"], key: "--shutdown-timeout"),
            // Bindings are checked before the broker is: a malformed entry names its key.
            .init(environment: ["WARREN_BIND": "orders=order.#,invoices"], arguments: [], key: "WARREN_BIND"),
            .init(environment: [:], arguments: ["--bind", "=order.#"], key: "--bind"),
            .init(environment: ["WARREN_EXCHANGE_TYPE": "x-delayed-message"], arguments: [], key: "WARREN_EXCHANGE_TYPE"),
            .init(environment: ["WARREN_EXISTING_QUEUE": "yes"], arguments: [], key: "WARREN_EXISTING_QUEUE"),
        ]

        /// The timing, port and limit settings; `Configuration` covers the broker and queue ones.
        @Test("an invalid duration, port or limit exits 78 quickly, naming the key", arguments: invalidSettings)
        func invalidTimingOrPortSettingExits78(_ setting: InvalidSetting) async throws {
            let env = try TestEnvironment.current()
            // A valid broker and queue, so only the invalid setting can stop it; port 0 unless the
            // case sets the port itself.
            let environment = ["WARREN_AMQP_URL": env.amqpURL, "WARREN_QUEUE": "it.config78.\(uniqueSuffix())",
                               "WARREN_HTTP_PORT": "0"]
                .merging(setting.environment) { _, new in new }
            let worker = try WarrenProcess.launch(env, ["worker"] + setting.arguments, environment: environment)
            defer { worker.forceStop() }
            let end = try await worker.waitForExit(timeout: .seconds(10))
            #expect(end == .exited(78), "\(worker.transcript)")
            #expect(worker.stderrText.contains(setting.key), "stderr names \(setting.key):\n\(worker.transcript)")
            #expect(worker.events("worker.connecting").isEmpty, "\(worker.transcript)")
        }

        /// The health port is taken by another process: the worker cannot serve its probes, so it
        /// must stop with the documented exit code for a configuration problem (78) and a
        /// `worker.failed` line saying the address is in use.
        @Test("a health port already in use exits with a documented code, saying why")
        func healthPortInUse() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("portinuse") { queue in
                let squatter = try await BlackholeListener.start()
                defer { squatter.stop() }
                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", env.amqpURL, "--queue", queue, "--http-port", "\(squatter.port)"])
                defer { worker.forceStop() }
                let end = try await worker.waitForExit(timeout: .seconds(20))
                #expect(end == .exited(78), "\(worker.transcript)")
                let failed = worker.events("worker.failed")
                #expect(failed.count == 1, "\(worker.transcript)")
                #expect(failed.first?["error"]?.lowercased().contains("in use") == true, "\(failed.first?.raw ?? "none")")
                #expect(failed.first?["exit_code"] == end.exitCode.map(String.init), "\(failed.first?.raw ?? "none")")
            }
        }

        /// Every documented duration spelling is accepted (`250ms`, `1.5s`, `1m`, a bare number of
        /// seconds), a new setting read from the environment takes effect (`WARREN_HEARTBEAT=20`
        /// is the heartbeat the broker shows), and a flag wins over an invalid variable.
        @Test("duration spellings are accepted; WARREN_HEARTBEAT applies; a flag beats an invalid variable")
        func durationSpellingsAccepted() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("durations") { queue in
                let worker = try WarrenProcess.worker(
                    env, queue: queue,
                    ["--reconnect-initial-delay", "250ms", "--reconnect-max-delay", "1m", "--shutdown-timeout", "1.5s"],
                    environment: ["WARREN_HEARTBEAT": "20", "WARREN_SHUTDOWN_TIMEOUT": "soon"])
                defer { worker.forceStop() }
                let probe = try await worker.healthProbe()
                try await probe.waitUntilReady(timeout: .seconds(20))
                let connection = try await broker.connection(ofProcess: worker.child.pid)
                #expect(connection?.heartbeat == 20, "negotiated heartbeat: \(connection.map(\.description) ?? "no connection")")
                let (end, _) = try await worker.stop(with: SIGTERM, timeout: .seconds(20))
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }
    }
}
