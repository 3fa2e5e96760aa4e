/// A broker round trip of the consumer's own bookkeeping (a crash marker, a retry or
/// dead-letter copy) took longer than its timeout, e.g. under a memory alarm, which blocks
/// publishers indefinitely.
struct BrokerTimeout: Error, CustomStringConvertible {
    var what: String
    var timeout: Duration

    var description: String { "\(what): no answer from the broker within \(timeout)" }
}

/// Runs `body`, throwing `BrokerTimeout` if it has not finished within `timeout` (it is then
/// cancelled).
func withBrokerTimeout<T: Sendable>(
    _ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let result = try await group.next(), let value = result else { throw BrokerTimeout(what: what, timeout: timeout) }
        return value
    }
}
