import Foundation
import Testing

extension BrokerTests {
    @Suite("Health and shutdown while the broker is unreachable")
    struct UnreachableBroker {
        /// When the health server first answered, measured from just before the spawn.
        struct FirstAnswers {
            let healthz: HTTPResponse
            let readyz: HTTPResponse
            let readiness: Readiness?
            let healthzAfter: Duration
            let readyzAfter: Duration
        }

        /// Asks `/healthz` and `/readyz` on `port` (passed as `--http-port`) every millisecond
        /// from the spawn on, each on its own, and says when each first answered. Polling the
        /// port itself, rather than waiting for the `http.listening` log line first, measures the
        /// server and not the log pipeline (the line is written by a separate thread, then read
        /// through a pipe), and neither endpoint waits for the other's answer.
        static func firstAnswers(of worker: WarrenProcess, port: Int, spawnedAt spawned: ContinuousClock.Instant) async throws
            -> (probe: HealthProbe, answers: FirstAnswers)
        {
            let probe = HealthProbe(port: port)
            @Sendable func firstAnswer<T: Sendable>(_ what: String, _ ask: @escaping @Sendable () async throws -> T) async throws
                -> (T, Duration)
            {
                var lastError = "no answer yet"
                let answer = try await pollValue(
                    timeout: .seconds(5), interval: .milliseconds(1), "\(what) to answer",
                    lastSeen: { "\(lastError)\n\(worker.transcript)" }
                ) { () async throws -> T? in
                    if !worker.isRunning { throw TimeoutError(description: "warren exited:\n\(worker.transcript)") }
                    do { return try await ask() } catch { lastError = "\(error)"; return nil }
                }
                return (answer, spawned.duration(to: .now))
            }
            async let health = firstAnswer("/healthz") { try await probe.healthz() }
            async let ready = firstAnswer("/readyz") { try await probe.readyz() }
            let (healthz, healthzAfter) = try await health
            let ((readyz, readiness), readyzAfter) = try await ready
            return (probe, FirstAnswers(
                healthz: healthz, readyz: readyz, readiness: readiness,
                healthzAfter: healthzAfter, readyzAfter: readyzAfter))
        }

        /// Starts `warren` with `arguments(httpPort)` and measures its first health answers. Up to
        /// three spawns, keeping the first that meets the 100 ms contract (else the third): what
        /// the bound guards against, a startup that waits on the broker, misses it every time,
        /// while one spawn on a loaded two-core machine running other suites in parallel can
        /// lose a scheduling slice (a debug build needs ~50 ms here; the release build ~25 ms).
        /// Every spawn's timing is printed.
        static func launchMeasured(_ env: TestEnvironment, _ arguments: (Int) -> [String]) async throws
            -> (worker: WarrenProcess, probe: HealthProbe, answers: FirstAnswers)
        {
            var attempt = 1
            while true {
                let httpPort = try unusedLoopbackPort()
                let spawned = ContinuousClock.now
                let worker = try WarrenProcess.launch(env, arguments(httpPort))
                let measured: (probe: HealthProbe, answers: FirstAnswers)
                do {
                    measured = try await firstAnswers(of: worker, port: httpPort, spawnedAt: spawned)
                } catch {
                    worker.forceStop()
                    throw error
                }
                let answers = measured.answers
                print("health timing, spawn \(attempt): /healthz after \(answers.healthzAfter.milliseconds) ms, /readyz after \(answers.readyzAfter.milliseconds) ms")
                if attempt == 3 || max(answers.healthzAfter, answers.readyzAfter) <= promptness {
                    return (worker, measured.probe, answers)
                }
                worker.forceStop()
                attempt += 1
            }
        }

        /// How soon after process start `/healthz` and `/readyz` must answer.
        static let promptness = Duration.milliseconds(100)

        /// The contract: `/healthz` 200 and `/readyz` 503 within 100 ms of process start, whatever the broker does.
        static func expectPromptHealth(_ answers: FirstAnswers, _ worker: WarrenProcess) {
            #expect(answers.healthz.status == 200, "\(answers.healthz)")
            #expect(answers.healthz.body.contains("\"alive\""), "\(answers.healthz)")
            #expect(answers.readyz.status == 503, "\(answers.readyz)")
            #expect(answers.readiness?.ready == false, "\(answers.readyz)")
            #expect(
                answers.healthzAfter <= promptness,
                "/healthz first answered \(answers.healthzAfter.milliseconds) ms after the spawn (contract: 100 ms)")
            #expect(
                answers.readyzAfter <= promptness,
                "/readyz first answered \(answers.readyzAfter.milliseconds) ms after the spawn (contract: 100 ms)")
        }

        /// A broker address that refuses connections: the health server answers at once, readiness
        /// says why it is not ready, `warren healthcheck` reports both, and SIGTERM during the
        /// reconnect back-off stops the process within about a second.
        @Test("broker refusing connections: health answers within 100 ms, readyz says why, SIGTERM exits at once")
        func refusedBroker() async throws {
            let env = try TestEnvironment.current()
            let port = try unusedLoopbackPort()
            let queue = "it.refused.\(uniqueSuffix())"
            let (worker, probe, answers) = try await Self.launchMeasured(env) { httpPort in
                ["worker", "--amqp-url", "amqp://guest:guest@127.0.0.1:\(port)/", "--queue", queue,
                 "--http-port", "\(httpPort)", "--reconnect-initial-delay", "2s", "--reconnect-max-delay", "5s"]
            }
            defer { worker.forceStop() }

            Self.expectPromptHealth(answers, worker)
            if let state = answers.readiness?.state {
                #expect(["starting", "connecting", "reconnecting"].contains(state), "\(answers.readyz)")
            }

            // Once the first attempt has failed, the reason names the refusal.
            var last = answers.readyz
            let readiness = try await pollValue(
                timeout: .seconds(10), "/readyz to say the connection was refused", lastSeen: { "\(last)" }
            ) {
                let (response, readiness) = try await probe.readyz()
                last = response
                #expect(response.status == 503, "never ready without a broker: \(response)")
                return readiness?.reason?.lowercased().contains("refused") == true ? readiness : nil
            }
            #expect(readiness.state == "reconnecting", "\(readiness)")
            #expect(readiness.reason?.contains("connect") == true, "\(readiness)")

            let reconnecting = try await worker.waitForEvent("worker.reconnecting", timeout: .seconds(10))
            #expect(reconnecting["attempt"] != nil && reconnecting["delay_ms"] != nil, "\(reconnecting)")
            #expect(reconnecting["cause"]?.lowercased().contains("refused") == true, "\(reconnecting)")
            #expect(worker.events("worker.connecting").first?["attempt"] == "1", "\(worker.transcript)")

            // `warren healthcheck`: exit 0 iff the endpoint answers 200.
            let ready = try await warrenHealthcheck(env, ["--http-port", "\(probe.port)"])
            #expect(ready.termination != .exited(0) && ready.termination != .signaled(SIGKILL), "not ready: \(ready)")
            let live = try await warrenHealthcheck(env, ["--http-port", "\(probe.port)", "--live"])
            #expect(live.termination == .exited(0), "alive: \(live)")
            let liveURL = try await warrenHealthcheck(env, ["--url", "http://127.0.0.1:\(probe.port)/healthz"])
            #expect(liveURL.termination == .exited(0), "--url of /healthz: \(liveURL)")

            // SIGTERM while it waits to reconnect: no drain to do, so it exits at once.
            let (end, elapsed) = try await worker.stop(with: SIGTERM, timeout: .seconds(10))
            #expect(end == .exited(0), "\(worker.transcript)")
            #expect(elapsed <= .milliseconds(1500), "SIGTERM took \(elapsed.milliseconds) ms (contract: ~1 s)")
            #expect(!worker.events("worker.stopped").isEmpty, "\(worker.transcript)")
            print("refused broker: SIGTERM to exit \(elapsed.milliseconds) ms")
        }

        /// A broker address that accepts the TCP connection and never speaks: the connection
        /// thread is stuck in the AMQP handshake, yet the health server answers and SIGTERM still
        /// stops the process promptly.
        @Test("broker that accepts and never answers: health answers, SIGTERM exits promptly")
        func blackholeBroker() async throws {
            let env = try TestEnvironment.current()
            let blackhole = try await BlackholeListener.start()
            defer { blackhole.stop() }

            let queue = "it.blackhole.\(uniqueSuffix())"
            let (worker, probe, answers) = try await Self.launchMeasured(env) { httpPort in
                ["worker", "--amqp-url", "amqp://guest:guest@127.0.0.1:\(blackhole.port)/", "--queue", queue,
                 "--http-port", "\(httpPort)"]
            }
            defer { worker.forceStop() }

            Self.expectPromptHealth(answers, worker)

            // The worker's TCP connect succeeded; it now waits for a connection.start that never comes.
            try await poll(timeout: .seconds(10), "the worker to connect to the blackhole", lastSeen: { worker.transcript }) {
                blackhole.acceptedConnections >= 1
            }
            for _ in 0..<5 {
                let asked = ContinuousClock.now
                let (response, readiness) = try await probe.readyz()
                let took = asked.duration(to: .now)
                #expect(response.status == 503, "\(response)")
                #expect(readiness?.ready == false && readiness?.state != "consuming", "\(response)")
                #expect(took < .milliseconds(500), "/readyz took \(took.milliseconds) ms while the handshake hangs")
                let health = try await probe.healthz()
                #expect(health.status == 200, "\(health)")
            }
            #expect(worker.events("worker.connected").isEmpty, "\(worker.transcript)")

            let (end, elapsed) = try await worker.stop(with: SIGTERM, timeout: .seconds(10))
            #expect(end == .exited(0), "\(worker.transcript)")
            #expect(elapsed <= .milliseconds(1500), "SIGTERM took \(elapsed.milliseconds) ms (contract: ~1 s)")
            print("blackhole broker: SIGTERM to exit \(elapsed.milliseconds) ms")
        }
    }
}
