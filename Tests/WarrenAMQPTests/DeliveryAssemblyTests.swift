import Testing
@testable import WarrenAMQP

/// `DeliveryAssembly`: a delivery from `basic.deliver`, its content header and its body frames,
/// read one at a time.
@Suite struct DeliveryAssemblyTests {
    private func begin(_ assembly: inout DeliveryAssembly, tag: UInt64 = 7) throws {
        try assembly.begin(deliveryTag: tag, redelivered: true, exchange: "ex", routingKey: "rk", consumerTag: "ctag")
    }

    private func body(_ assembly: inout DeliveryAssembly, _ bytes: [UInt8]) throws -> AMQPDelivery? {
        try bytes.withUnsafeBytes { try assembly.body($0) }
    }

    @Test func aBodyInSeveralFramesBecomesOneDelivery() throws {
        var assembly = DeliveryAssembly()
        try begin(&assembly)
        #expect(assembly.isInProgress)
        #expect(try assembly.header(AMQPProperties(contentType: "application/json", messageID: "m1"), bodySize: 5) == nil)
        #expect(try body(&assembly, Array("ab".utf8)) == nil, "3 bytes still to come")
        let delivery = try #require(try body(&assembly, Array("cde".utf8)))
        #expect(delivery.body == Array("abcde".utf8))
        #expect(delivery.deliveryTag == 7)
        #expect(delivery.redelivered)
        #expect(delivery.exchange == "ex")
        #expect(delivery.routingKey == "rk")
        #expect(delivery.consumerTag == "ctag")
        #expect(delivery.properties.messageID == "m1")
        #expect(delivery.properties.contentType == "application/json")
        #expect(!assembly.isInProgress)

        try begin(&assembly, tag: 8)  // the next one starts clean
        _ = try assembly.header(AMQPProperties(), bodySize: 1)
        #expect(try body(&assembly, [42])?.body == [42])
    }

    @Test func anEmptyBodyEndsWithTheHeader() throws {
        var assembly = DeliveryAssembly()
        try begin(&assembly)
        let delivery = try #require(try assembly.header(AMQPProperties(messageID: "empty"), bodySize: 0))
        #expect(delivery.body.isEmpty)
        #expect(delivery.properties.messageID == "empty")
        #expect(!assembly.isInProgress)
    }

    /// Out of order, the stream is broken: each is refused rather than glued to the wrong delivery.
    @Test func framesOutOfOrderAreRefused() throws {
        var assembly = DeliveryAssembly()
        #expect(throws: DeliveryAssembly.OutOfOrder.self) { try assembly.header(AMQPProperties(), bodySize: 1) }
        #expect(throws: DeliveryAssembly.OutOfOrder.self) { try body(&assembly, [1]) }
        try begin(&assembly)
        #expect(throws: DeliveryAssembly.OutOfOrder.self, "a second deliver before the first's content") { try begin(&assembly) }
        #expect(throws: DeliveryAssembly.OutOfOrder.self, "a body before the header") { try body(&assembly, [1]) }
        _ = try assembly.header(AMQPProperties(), bodySize: 2)
        #expect(throws: DeliveryAssembly.OutOfOrder.self, "a second header") { try assembly.header(AMQPProperties(), bodySize: 2) }
        #expect(throws: DeliveryAssembly.OutOfOrder.self, "more body than the header said") { try body(&assembly, [1, 2, 3]) }
    }

    @Test func resetForgetsADeliveryInProgress() throws {
        var assembly = DeliveryAssembly()
        try begin(&assembly, tag: 1)
        _ = try assembly.header(AMQPProperties(), bodySize: 4)
        _ = try body(&assembly, [1, 2])
        assembly.reset()
        #expect(!assembly.isInProgress)
        try begin(&assembly, tag: 2)
        _ = try assembly.header(AMQPProperties(), bodySize: 2)
        let delivery = try #require(try body(&assembly, [3, 4]))
        #expect(delivery.deliveryTag == 2)
        #expect(delivery.body == [3, 4], "nothing of the forgotten one")
    }
}
