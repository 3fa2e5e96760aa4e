import Testing
import WarrenAMQP
@testable import Warren

@Suite struct UnmarkedDeliveriesTests {
    private func delivery(_ tag: UInt64, id: String, redelivered: Bool = false) -> AMQPDelivery {
        AMQPDelivery(
            deliveryTag: tag, redelivered: redelivered, exchange: "", routingKey: "q", consumerTag: "",
            properties: AMQPProperties(messageID: id), body: Array("{}".utf8))
    }

    @Test func freshDeliveriesAreUnmarkedAndUnknownRedeliveriesAreNot() {
        let memory = UnmarkedDeliveries()
        #expect(memory.admit(delivery(1, id: "a"), consumerTag: "c1"))
        #expect(!memory.admit(delivery(2, id: "b", redelivered: true), consumerTag: "c1"), "never held here: ask the broker")
    }

    /// What the lost connection's consumer held (running, or taken after the loss and given back)
    /// comes back known; what it settled on a live connection does not; an answer is used once.
    @Test func theLostConnectionsDeliveriesComeBackKnown() {
        let memory = UnmarkedDeliveries()
        _ = memory.admit(delivery(1, id: "settled"), consumerTag: "c1")
        memory.finished(delivery(1, id: "settled"), consumerTag: "c1", connectionOpen: true)
        _ = memory.admit(delivery(2, id: "running"), consumerTag: "c1")
        _ = memory.admit(delivery(3, id: "lost-ack"), consumerTag: "c1")
        memory.finished(delivery(3, id: "lost-ack"), consumerTag: "c1", connectionOpen: false)
        _ = memory.admit(delivery(4, id: "unstarted"), consumerTag: "c1")

        #expect(memory.admit(delivery(1, id: "running", redelivered: true), consumerTag: "c2"))
        #expect(memory.admit(delivery(2, id: "lost-ack", redelivered: true), consumerTag: "c2"))
        #expect(memory.admit(delivery(3, id: "unstarted", redelivered: true), consumerTag: "c2"))
        #expect(!memory.admit(delivery(4, id: "settled", redelivered: true), consumerTag: "c2"))
        #expect(!memory.admit(delivery(5, id: "running", redelivered: true), consumerTag: "c2"), "one answer per delivery held")
    }

    /// A redelivery answered from memory is held unmarked again, so a second lost connection
    /// keeps the knowledge; the connection before that is forgotten.
    @Test func knowledgeCarriesOverOneMoreLossAndNoFurther() {
        let memory = UnmarkedDeliveries()
        _ = memory.admit(delivery(1, id: "a"), consumerTag: "c1")
        _ = memory.admit(delivery(2, id: "b"), consumerTag: "c1")
        #expect(memory.admit(delivery(1, id: "a", redelivered: true), consumerTag: "c2"))
        #expect(memory.admit(delivery(1, id: "a", redelivered: true), consumerTag: "c3"))
        #expect(!memory.admit(delivery(2, id: "b", redelivered: true), consumerTag: "c3"), "held two connections ago")
    }

    /// A late finish of the previous consumer's run does not remove the new consumer's delivery
    /// that happens to share its delivery tag (tags restart on every channel).
    @Test func aStaleFinishLeavesTheNewConsumersDeliveries() {
        let memory = UnmarkedDeliveries()
        _ = memory.admit(delivery(1, id: "old"), consumerTag: "c1")
        _ = memory.admit(delivery(1, id: "new"), consumerTag: "c2")
        memory.finished(delivery(1, id: "old"), consumerTag: "c1", connectionOpen: true)
        #expect(memory.admit(delivery(1, id: "new", redelivered: true), consumerTag: "c3"))
    }
}
