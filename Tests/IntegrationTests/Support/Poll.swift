/// A condition did not become true before its deadline.
struct TimeoutError: Error, CustomStringConvertible {
    let description: String
}

/// Checks `condition` until it returns a non-nil value, sleeping `interval` between checks.
///
/// Use this instead of fixed sleeps whenever a test waits for something to happen:
/// it returns as soon as the condition holds and fails with `what` when it never does.
///
///     let line = try await pollValue(timeout: .seconds(10), "the worker to log worker.consuming") {
///         worker.lines.first { $0["event"] == "worker.consuming" }
///     }
///
/// - Parameters:
///   - timeout: how long to keep trying.
///   - interval: the pause between checks; keep it ≥ 1 s for checks that run `rabbitmqctl`.
///   - what: what is being waited for, for the failure message.
///   - lastSeen: called once on timeout; its text is appended to the failure message.
/// - Throws: `TimeoutError` after `timeout`, or whatever `condition` throws.
@discardableResult
func pollValue<T>(
    timeout: Duration,
    interval: Duration = .milliseconds(50),
    _ what: @autoclosure () -> String,
    lastSeen: (() -> String)? = nil,
    _ condition: () async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if let value = try await condition() { return value }
        if clock.now >= deadline {
            var message = "timed out after \(timeout) waiting for \(what())"
            if let lastSeen { message += "; last seen: \(lastSeen())" }
            throw TimeoutError(description: message)
        }
        try await Task.sleep(for: interval)
    }
}

/// Checks `condition` until it is true, sleeping `interval` between checks (see `pollValue`).
func poll(
    timeout: Duration,
    interval: Duration = .milliseconds(50),
    _ what: @autoclosure () -> String,
    lastSeen: (() -> String)? = nil,
    _ condition: () async throws -> Bool
) async throws {
    let _: Void = try await pollValue(timeout: timeout, interval: interval, what(), lastSeen: lastSeen) {
        try await condition() ? () : nil
    }
}
