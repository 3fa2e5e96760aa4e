import Testing
import WarrenAMQP
@testable import Warren

/// `Topology`: the queues Warren declares and their arguments.
@Suite struct TopologyTests {
    @Test func retryQueuesExpireBackIntoTheWorkQueue() {
        let topology = Topology(queue: "jobs", queueType: .classic, retryDelays: [.milliseconds(250), .seconds(10), .seconds(60)])
        #expect(topology.retryQueues == ["jobs.retry.250ms", "jobs.retry.10s", "jobs.retry.1m"])
        #expect(topology.retryQueueArguments(delay: .seconds(10)) == [
            "x-queue-type": "classic", "x-message-ttl": 10_000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "jobs",
        ])
        // Classic queues have no delivery count: no broker safety net, whatever the limit.
        #expect(topology.queueArguments == ["x-queue-type": "classic", "x-dead-letter-exchange": "jobs.dlx"])
    }

    @Test func quorumRetryQueuesDeadLetterAtLeastOnce() {
        let topology = Topology(queue: "jobs", queueType: .quorum, retryDelays: [.seconds(1)], deliveryLimit: nil)
        #expect(topology.retryQueueArguments(delay: .seconds(1)) == [
            "x-queue-type": "quorum", "x-message-ttl": 1000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "jobs",
            "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish",
        ])
        // Without a delivery limit the queue is declared as before, for queues created without it.
        #expect(topology.queueArguments == ["x-queue-type": "quorum", "x-dead-letter-exchange": "jobs.dlx"])
    }
}
