/// The RabbitMQ queue type Warren declares (`x-queue-type`).
public enum QueueType: String, Sendable, CaseIterable {
    /// Replicated, Raft-based; the broker team's recommendation for durable work queues.
    case quorum
    /// Single-node queue; faster, not replicated.
    case classic
}
