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
                    timeout: .seconds(20), interval: .milliseconds(1), "\(what) to answer",
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

        /// Starts `warren` with `arguments(httpPort)` and waits for its first health answers.
        /// How fast they come is a performance figure, measured by `bench/startup.sh`; here the
        /// timing is only printed.
        static func launchMeasured(_ env: TestEnvironment, _ arguments: (Int) -> [String]) async throws
            -> (worker: WarrenProcess, probe: HealthProbe, answers: FirstAnswers)
        {
            let httpPort = try unusedLoopbackPort()
            let spawned = ContinuousClock.now
            let worker = try WarrenProcess.launch(env, arguments(httpPort))
            do {
                let measured = try await firstAnswers(of: worker, port: httpPort, spawnedAt: spawned)
                let answers = measured.answers
                print("health timing: /healthz after \(answers.healthzAfter.milliseconds) ms, /readyz after \(answers.readyzAfter.milliseconds) ms")
                return (worker, measured.probe, answers)
            } catch {
                worker.forceStop()
                throw error
            }
        }

        /// How soon after process start `/healthz` and `/readyz` must have answered. Not the
        /// README's promptness (~50 ms in a debug build; `bench/startup.sh` measures it): a
        /// bound that tells "answers without the broker" from "answers once the first broker
        /// attempt is over", which takes the 10 s connect timeout against a broker that accepts
        /// and never speaks, and that a loaded 2-core machine (load 8+) still meets.
        static let withoutWaitingForTheBroker = Duration.seconds(5)

        /// `/healthz` 200 and `/readyz` 503 while no broker connection has succeeded, soon after
        /// process start.
        static func expectPromptHealth(_ answers: FirstAnswers, _ worker: WarrenProcess) {
            #expect(answers.healthz.status == 200, "\(answers.healthz)")
            #expect(answers.healthz.body.contains("\"alive\""), "\(answers.healthz)")
            #expect(answers.readyz.status == 503, "\(answers.readyz)")
            #expect(answers.readiness?.ready == false, "\(answers.readyz)")
            #expect(
                answers.healthzAfter <= withoutWaitingForTheBroker,
                "/healthz first answered \(answers.healthzAfter.milliseconds) ms after the spawn")
            #expect(
                answers.readyzAfter <= withoutWaitingForTheBroker,
                "/readyz first answered \(answers.readyzAfter.milliseconds) ms after the spawn")
            #expect(worker.events("worker.connected").isEmpty, "no broker connection succeeded: \(worker.transcript)")
        }

        /// A broker address that refuses connections: the health server answers at once, readiness
        /// says why it is not ready, `warren healthcheck` reports both, and SIGTERM during a long
        /// reconnect back-off stops the process without waiting for the back-off to end.
        @Test("broker refusing connections: health answers at once, readyz says why, SIGTERM cuts the back-off short")
        func refusedBroker() async throws {
            let env = try TestEnvironment.current()
            let port = try unusedLoopbackPort()
            let queue = "it.refused.\(uniqueSuffix())"
            let (worker, probe, answers) = try await Self.launchMeasured(env) { httpPort in
                ["worker", "--amqp-url", "amqp://guest:guest@127.0.0.1:\(port)/", "--queue", queue,
                 "--http-port", "\(httpPort)", "--reconnect-initial-delay", "30s", "--reconnect-max-delay", "60s"]
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

            // SIGTERM just after a back-off of at least 10 s began (full jitter below 30 s, then
            // below 60 s: one comes within a few attempts): no drain to do, so it exits at once.
            let longBackoff = try await pollValue(
                timeout: .seconds(120), interval: .milliseconds(10), "a back-off of 10 s or more",
                lastSeen: { worker.transcript }
            ) { () -> Int? in
                let delay = worker.events("worker.reconnecting").last?["delay_ms"].flatMap { Double($0) }.map { Int($0) }
                return delay.flatMap { $0 >= 10_000 ? $0 : nil }
            }
            let (end, elapsed) = try await worker.stop(with: SIGTERM, timeout: .seconds(70))
            #expect(end == .exited(0), "\(worker.transcript)")
            // An exit that waited for the back-off would take the ≥ 9.9 s left of it; 5 s is the
            // ~1 s exit plus room for a loaded 2-core machine.
            #expect(elapsed <= .seconds(5), "SIGTERM took \(elapsed.milliseconds) ms during a \(longBackoff) ms back-off")
            #expect(!worker.events("worker.stopped").isEmpty, "\(worker.transcript)")
            print("refused broker: SIGTERM to exit \(elapsed.milliseconds) ms")
        }

        /// A broker address that accepts the TCP connection and never speaks: the connection
        /// thread is stuck in the AMQP handshake, yet the health server answers and SIGTERM still
        /// stops the process without waiting for the handshake's timeout.
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

            // SIGTERM just as a handshake begins (a fresh accepted connection, after the first
            // attempt's 10 s connect timeout): exit without waiting for it.
            let accepted = blackhole.acceptedConnections
            try await poll(timeout: .seconds(30), interval: .milliseconds(10), "a fresh handshake to begin",
                           lastSeen: { worker.transcript }) { blackhole.acceptedConnections > accepted }
            let (end, elapsed) = try await worker.stop(with: SIGTERM, timeout: .seconds(20))
            #expect(end == .exited(0), "\(worker.transcript)")
            // An exit that waited for the hung handshake would take its ~10 s connect timeout;
            // 5 s is the ~1 s exit plus room for a loaded 2-core machine.
            #expect(elapsed <= .seconds(5), "SIGTERM took \(elapsed.milliseconds) ms while a handshake hung")
            print("blackhole broker: SIGTERM to exit \(elapsed.milliseconds) ms")
        }
    }
}
