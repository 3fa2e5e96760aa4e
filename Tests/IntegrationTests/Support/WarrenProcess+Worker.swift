import Foundation

extension WarrenProcess {
    /// Starts `warren worker` on `queue` with its health server on a port the kernel picks
    /// (`--http-port 0`: workers never collide on a fixed port), plus `arguments`.
    static func worker(
        _ env: TestEnvironment, queue: String, _ arguments: [String] = [], environment: [String: String] = [:]
    ) throws -> WarrenProcess {
        try launch(
            env, ["worker", "--amqp-url", env.amqpURL, "--queue", queue, "--http-port", "0"] + arguments,
            environment: environment)
    }

    /// The health server of this worker, from its `http.listening` line (field `port`).
    func healthProbe(timeout: Duration = .seconds(20)) async throws -> HealthProbe {
        let line = try await waitForEvent("http.listening", timeout: timeout)
        guard let port = line["port"].flatMap({ Int($0) }), port > 0 else {
            throw TimeoutError(description: "http.listening has no usable port field: \(line)")
        }
        return HealthProbe(port: port)
    }

    /// `message_id` of every `message.acked` line so far, in order, duplicates kept.
    var ackedIDs: [String] { events("message.acked").compactMap { $0["message_id"] } }

    /// The highest `attempt` field among the `worker.connecting` lines.
    var lastConnectAttempt: Int? { events("worker.connecting").compactMap { $0["attempt"].flatMap { Int($0) } }.max() }

    /// Sends `signal` and waits for the exit; returns how it ended and how long it took.
    func stop(
        with signal: Int32 = SIGTERM, timeout: Duration = .seconds(30)
    ) async throws -> (termination: Termination, elapsed: Duration) {
        let start = ContinuousClock.now
        send(signal)
        let termination = try await waitForExit(timeout: timeout)
        return (termination, start.duration(to: .now))
    }
}

/// Runs `warren healthcheck` with `arguments`; returns its result (exit 0 iff the endpoint answered 200).
func warrenHealthcheck(_ env: TestEnvironment, _ arguments: [String]) async throws -> ToolResult {
    try await runTool(
        env.warrenBinary, ["healthcheck"] + arguments,
        removingEnvironment: { $0.hasPrefix("WARREN_") }, timeout: .seconds(15))
}

extension Duration {
    /// The duration in milliseconds, for messages and comparisons with log fields.
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

extension Termination {
    /// The exit code, or nil if the process was killed by a signal.
    var exitCode: Int32? {
        if case .exited(let code) = self { return code }
        return nil
    }
}
