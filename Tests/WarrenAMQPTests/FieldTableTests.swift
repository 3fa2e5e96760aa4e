import CRabbitMQ
import Testing
@testable import WarrenAMQP

@Suite struct FieldTableTests {
    @Test func tableSurvivesTheRoundTripThroughC() {
        let table: AMQPTable = [
            "x-queue-type": "quorum",
            "count": 42,
            "flag": true,
            "ratio": .double(0.5),
            "raw": .bytes([0, 1, 255]),
            "when": .timestamp(1_700_000_000),
            "nested": .table(["inner": "value", "list": .array([1, "two", .void])]),
            "empty": .table([:]),
        ]
        let arena = CArena()
        let encoded = arena.table(table)
        #expect(AMQPTable(cTable: encoded) == table)
    }

    @Test func propertiesSurviveTheRoundTripThroughC() {
        var properties = AMQPProperties.persistentJSON(messageID: "m-1")
        properties.correlationID = "c-1"
        properties.headers = ["x-warren-attempt": 2]
        properties.timestamp = 12345
        properties.priority = 3
        let arena = CArena()
        let decoded = AMQPProperties(properties.cProperties(in: arena))
        #expect(decoded == properties)
        #expect(AMQPProperties(AMQPProperties().cProperties(in: arena)) == AMQPProperties())
    }
}
