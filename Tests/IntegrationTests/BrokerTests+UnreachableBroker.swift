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

        /// Watches the worker's stdout for `http.listening` (every millisecond), then asks
        /// `/healthz` and `/readyz` until each answers, and says when each first did.
        static func firstAnswers(of worker: WarrenProcess, spawnedAt spawned: ContinuousClock.Instant) async throws
            -> (probe: HealthProbe, answers: FirstAnswers)
        {
            let line = try await pollValue(
                timeout: .seconds(10), interval: .milliseconds(1), "an http.listening line",
                lastSeen: { worker.transcript }
            ) {
                if !worker.isRunning { throw TimeoutError(description: "warren exited:\n\(worker.transcript)") }
                return worker.lines.first { $0.event == "http.listening" }
            }
            guard let port = line["port"].flatMap({ Int($0) }), port > 0 else {
                throw TimeoutError(description: "http.listening has no usable port: \(line)")
            }
            let probe = HealthProbe(port: port)
            var lastError = ""
            let healthz = try await pollValue(
                timeout: .seconds(5), interval: .milliseconds(1), "/healthz to answer", lastSeen: { lastError }
            ) {
                do { return try await probe.healthz() } catch { lastError = "\(error)"; return nil }
            }
            let healthzAfter = spawned.duration(to: .now)
            let (readyz, readiness) = try await probe.readyz()
            let readyzAfter = spawned.duration(to: .now)
            return (probe, FirstAnswers(
                healthz: healthz, readyz: readyz, readiness: readiness,
                healthzAfter: healthzAfter, readyzAfter: readyzAfter))
        }

        /// The contract: `/healthz` 200 and `/readyz` 503 within 100 ms of process start, whatever the broker does.
        static func expectPromptHealth(_ answers: FirstAnswers, _ worker: WarrenProcess) {
            #expect(answers.healthz.status == 200, "\(answers.healthz)")
            #expect(answers.healthz.body.contains("\"alive\""), "\(answers.healthz)")
            #expect(answers.readyz.status == 503, "\(answers.readyz)")
            #expect(answers.readiness?.ready == false, "\(answers.readyz)")
            #expect(
                answers.healthzAfter <= .milliseconds(100),
                "/healthz first answered \(answers.healthzAfter.milliseconds) ms after the spawn (contract: 100 ms)")
            #expect(
                answers.readyzAfter <= .milliseconds(100),
                "/readyz first answered \(answers.readyzAfter.milliseconds) ms after the spawn (contract: 100 ms)")
            print("health timing: /healthz after \(answers.healthzAfter.milliseconds) ms, /readyz after \(answers.readyzAfter.milliseconds) ms")
        }

        /// A broker address that refuses connections: the health server answers at once, readiness
        /// says why it is not ready, `warren healthcheck` reports both, and SIGTERM during the
        /// reconnect back-off stops the process within about a second.
        @Test("broker refusing connections: health answers within 100 ms, readyz says why, SIGTERM exits at once")
        func refusedBroker() async throws {
            let env = try TestEnvironment.current()
            let port = try unusedLoopbackPort()
            let spawned = ContinuousClock.now
            let worker = try WarrenProcess.launch(
                env,
                ["worker", "--amqp-url", "amqp://guest:guest@127.0.0.1:\(port)/", "--queue", "it.refused.\(uniqueSuffix())",
                 "--http-port", "0", "--reconnect-initial-delay", "2s", "--reconnect-max-delay", "5s"])
            defer { worker.forceStop() }

            let (probe, answers) = try await Self.firstAnswers(of: worker, spawnedAt: spawned)
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

            let spawned = ContinuousClock.now
            let worker = try WarrenProcess.launch(
                env,
                ["worker", "--amqp-url", "amqp://guest:guest@127.0.0.1:\(blackhole.port)/",
                 "--queue", "it.blackhole.\(uniqueSuffix())", "--http-port", "0"])
            defer { worker.forceStop() }

            let (probe, answers) = try await Self.firstAnswers(of: worker, spawnedAt: spawned)
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
