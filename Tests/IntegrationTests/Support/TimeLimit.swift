/// Runs `body`, failing with `TimeoutError` if it has not returned within `limit` (it is then
/// cancelled): a test of a call that may hang fails instead of hanging the suite.
func withTimeLimit<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimeoutError(description: "still running after \(limit)") }
        return value
    }
}
