/// The handler ran longer than `ConsumerConfiguration.handlerTimeout`: it was cancelled and
/// threw. A passing error: the message is retried under the `RetryPolicy`, and dead-lettered with
/// this as the reason when no retry is left.
public struct HandlerTimeout: Error, Sendable, CustomStringConvertible {
    /// The configured `handlerTimeout` the handler overran.
    public var timeout: Duration

    /// `handler did not finish within <timeout>`: the dead-letter reason when no retry is left.
    public var description: String { "handler did not finish within \(timeout)" }
}

/// Runs `body`, cancelling it when `timeout` passes.
///
/// Cancellation is cooperative: a body that ignores it runs to its end. If it then returns
/// normally its result stands (the work was done, and acking avoids doing it twice); if it
/// throws, the error becomes `HandlerTimeout`.
func withHandlerTimeout(_ timeout: Duration?, _ body: @escaping @Sendable () async throws -> Void) async throws {
    guard let timeout else { return try await body() }
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await body()
            return true
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return false
        }
        var timedOut = false
        while true {
            do {
                guard let finished = try await group.next() else { return }
                if finished {
                    group.cancelAll()
                    return
                }
                timedOut = true
                group.cancelAll()
            } catch {
                // The timer throws only when cancelled from outside (shutdown): that, or the
                // body's own error, ends the wait.
                group.cancelAll()
                if timedOut && !Task.isCancelled { throw HandlerTimeout(timeout: timeout) }
                throw error
            }
        }
    }
}
