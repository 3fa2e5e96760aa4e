/// How a failed message is retried: first in process, then through the broker, then
/// dead-lettered. A pure value: `decision(after:attempt:)` decides, the consumer acts.
///
/// - `immediateRetries`: how many times the handler is called again at once, in process, before
///   the message is given up for this delivery (default 0). Cheap, but the message is held by
///   this worker meanwhile.
/// - `delays`: the delayed retries, through per-delay retry queues `Q.retry.<delay>` (durable,
///   `x-message-ttl` = the delay, dead-lettering back to `Q`): after delivery *n* fails, a copy
///   with `x-warren-attempt: n + 1` waits `delays[n - 1]` in the broker, so the wait survives a
///   worker or broker restart and no retry state lives in process memory (default 1 s, 10 s,
///   60 s; `WARREN_RETRY_DELAYS=1s,10s,1m`; empty: no delayed retries).
///
/// After the last delay the message is dead-lettered. A `PermanentError` (or an undecodable
/// body) is dead-lettered at once.
public struct RetryPolicy: Sendable, Equatable {
    /// In-process retries per delivery (see above); never negative.
    public var immediateRetries: Int
    /// The delayed retries' waits, in order (see above); each makes a retry queue.
    public var delays: [Duration]

    /// The header carrying the attempt number (1 for the first delivery; absent means 1).
    public static let attemptHeader = "x-warren-attempt"

    /// 1 s, 10 s, 60 s: three delayed retries, the last about 71 s after the first failure.
    public static let defaultDelays: [Duration] = [.seconds(1), .seconds(10), .seconds(60)]

    /// A policy; a negative `immediateRetries` counts as 0.
    public init(immediateRetries: Int = 0, delays: [Duration] = RetryPolicy.defaultDelays) {
        self.immediateRetries = max(0, immediateRetries)
        self.delays = delays
    }

    /// No retries at all: every failure is dead-lettered at once.
    public static let none = RetryPolicy(immediateRetries: 0, delays: [])

    /// What to do with a message whose handler failed.
    public enum Decision: Sendable, Equatable {
        /// Call the handler again now (in-process retry `number`, from 1).
        case retryNow(number: Int)
        /// Publish a copy to the retry queue for `delay`, as delivery `nextAttempt`, then ack.
        case retryLater(delay: Duration, nextAttempt: Int)
        /// Publish a copy to the dead-letter exchange with the error headers, then ack.
        case deadLetter(permanent: Bool)
    }

    /// - Parameters:
    ///   - error: what the handler threw.
    ///   - attempt: the delivery's attempt number (from `x-warren-attempt`, 1 for the first).
    ///   - immediateRetriesSoFar: in-process retries already made for this delivery.
    public func decision(after error: any Error, attempt: Int, immediateRetriesSoFar: Int) -> Decision {
        if PermanentErrorCheck.isPermanent(error) { return .deadLetter(permanent: true) }
        if immediateRetriesSoFar < immediateRetries { return .retryNow(number: immediateRetriesSoFar + 1) }
        let index = max(1, attempt) - 1
        guard index < delays.count else { return .deadLetter(permanent: false) }
        return .retryLater(delay: delays[index], nextAttempt: max(1, attempt) + 1)
    }

    /// The retry queue's name for `delay`, e.g. `orders.retry.10s`, `orders.retry.1m`,
    /// `orders.retry.500ms`: whole minutes, else whole seconds, else milliseconds.
    public static func retryQueue(of queue: String, delay: Duration) -> String {
        "\(queue).retry.\(delayName(delay))"
    }

    static func delayName(_ delay: Duration) -> String {
        let milliseconds = delay.milliseconds
        if milliseconds % 60_000 == 0 && milliseconds > 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 && milliseconds > 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }

    /// Parses `WARREN_RETRY_DELAYS`: comma-separated durations (`1s,10s,1m`), each from 1 ms to
    /// 24 h (they need not increase); an empty text means no delayed retries.
    /// Returns `nil` when an item is malformed.
    public static func parseDelays(_ text: String) -> [Duration]? {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.filter { $0 != " " } }
        if items.count == 1 && items[0].isEmpty { return [] }
        var delays: [Duration] = []
        for item in items {
            guard let delay = SettingsResolver.parseDuration(item),
                  delay >= .milliseconds(1), delay <= .seconds(86_400) else { return nil }
            delays.append(delay)
        }
        return delays
    }
}
