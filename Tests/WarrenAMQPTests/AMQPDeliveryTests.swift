import Testing
import WarrenAMQP

/// `AMQPDelivery` and `AMQPProperties` keep their fields in shared copy-on-write storage (a copy
/// is one retain, issue 17): they must still behave as values, a write to one copy never
/// showing through another, which may be on another thread.
@Suite struct AMQPDeliveryTests {
    static func delivery() -> AMQPDelivery {
        AMQPDelivery(
            deliveryTag: 7, redelivered: false, exchange: "ex", routingKey: "rk", consumerTag: "ctag",
            properties: AMQPProperties(headers: ["h": .string("v")], messageID: "m-1"), body: [1, 2, 3])
    }

    @Test func writingACopyLeavesTheOriginal() {
        let original = Self.delivery()
        var copy = original
        copy.exchange = "other-ex"
        copy.routingKey = "other-rk"
        copy.consumerTag = "other-ctag"
        copy.body.append(4)
        copy.properties.messageID = "m-2"
        copy.deliveryTag = 8
        #expect(original.exchange == "ex")
        #expect(original.routingKey == "rk")
        #expect(original.consumerTag == "ctag")
        #expect(original.body == [1, 2, 3])
        #expect(original.properties.messageID == "m-1")
        #expect(original.deliveryTag == 7)
        #expect(copy.exchange == "other-ex" && copy.routingKey == "other-rk" && copy.consumerTag == "other-ctag")
        #expect(copy.body == [1, 2, 3, 4])
        #expect(copy.properties.messageID == "m-2")
    }

    @Test func writingTheOriginalLeavesACopy() {
        var original = Self.delivery()
        let copy = original
        original.exchange = "other-ex"
        original.properties.headers?["h"] = .string("w")
        #expect(copy.exchange == "ex")
        #expect(copy.properties.headers?["h"] == .string("v"))
        #expect(original.exchange == "other-ex")
        #expect(original.properties.headers?["h"] == .string("w"))
    }

    @Test func writingACopyOfPropertiesLeavesTheOriginal() {
        let original = AMQPProperties(
            contentType: "application/json", headers: ["h": .int(1)], deliveryMode: 2, correlationID: "c-1",
            messageID: "m-1", appID: "app")
        var copy = original
        #expect(copy == original)
        copy.correlationID = "c-2"
        copy.headers = nil
        copy.contentType = "text/plain"
        copy.deliveryMode = 1
        #expect(original.correlationID == "c-1")
        #expect(original.headers == ["h": .int(1)])
        #expect(original.contentType == "application/json")
        #expect(original.deliveryMode == 2)
        #expect(copy != original)
        #expect(copy.correlationID == "c-2" && copy.headers == nil && copy.contentType == "text/plain")
    }

    @Test func propertiesAreEqualByValueNotByStorage() {
        let a = AMQPProperties(contentType: "application/json", messageID: "m-1")
        var b = AMQPProperties(contentType: "application/json")
        #expect(a != b)
        b.messageID = "m-1"
        #expect(a == b, "separately built, same values")
        b.appID = "app"
        #expect(a != b)
        #expect(AMQPProperties() == AMQPProperties())
    }
}
