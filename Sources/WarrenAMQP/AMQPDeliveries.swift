/// A consumer's deliveries, in order (see `AMQPConnection.consume`); iterate it from one task.
///
/// The owner thread hands over every delivery it read for the consumer in one turn as one batch:
/// one wake-up of the reading task per turn instead of one per delivery (issue 17: the stream's
/// per-delivery hand-over was an eighth of a consumer's CPU). Iterating yields them one at a time.
/// A batch holds at most the prefetch, like the stream did.
public struct AMQPDeliveries: AsyncSequence, Sendable {
    /// One delivery.
    public typealias Element = AMQPDelivery
    /// Iteration throws what ended the consumer: the connection's error, or the broker's cancel.
    public typealias Failure = any Error

    /// The batches as the owner thread yields them, never empty.
    let batches: AsyncThrowingStream<[AMQPDelivery], Error>

    /// The iterator; make one, and use it from one task (the stream allows a single reader).
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(batches: batches.makeAsyncIterator())
    }

    /// Takes a batch from the stream when the last one is used up. Ends (or throws) when the
    /// stream does, after every delivery already handed over.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var batches: AsyncThrowingStream<[AMQPDelivery], Error>.AsyncIterator
        var batch: [AMQPDelivery] = []
        var index = 0

        /// The next delivery, suspending the calling task until the owner thread hands over a
        /// batch; `nil` once the stream finished (`cancel(consumerTag:)`, `close()`).
        public mutating func next() async throws -> AMQPDelivery? {
            if index == batch.count {
                guard let next = try await batches.next() else { return nil }
                batch = next
                index = 0
            }
            defer { index += 1 }
            return batch[index]
        }
    }
}
