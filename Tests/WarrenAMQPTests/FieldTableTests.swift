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

    /// The entries go out in the byte order of their keys, whatever the dictionary's order, so
    /// the same table is encoded the same way in every process: shorter keys before longer ones
    /// they begin, `_` (0x5F) before lowercase letters, non-ASCII (0xC3…) after ASCII.
    @Test func entriesAreInTheByteOrderOfTheirKeys() {
        let keys = ["x-warren-failed-at", "x-b", "x-a", "x", "x-warren-attempts", "x-warren-attempt", "é", "x_a", "Z", "x-warren-error-type"]
        var table: AMQPTable = [:]
        for (index, key) in keys.enumerated() { table[key] = .int(Int64(index)) }
        let arena = CArena()  // owns the entries: kept alive until they are read
        let encoded = arena.table(table)
        let order = (0..<Int(encoded.num_entries)).map { encoded.entries[$0].key.swiftShortString }
        #expect(order == ["Z", "x", "x-a", "x-b", "x-warren-attempt", "x-warren-attempts", "x-warren-error-type", "x-warren-failed-at", "x_a", "é"])
        #expect(AMQPTable(cTable: encoded) == table)
        withExtendedLifetime(arena) {}
    }

    /// A recycled arena (as `RawConnection.publish` keeps one) builds the next table in the
    /// pages of the last, not cleared: each must still read back whole, including a value larger
    /// than a page (which recycling frees) and a shorter table after a longer one.
    @Test func aRecycledArenaBuildsTheNextTableWhole() {
        let arena = CArena()
        let tables: [AMQPTable] = [
            ["x-long": .string(String(repeating: "a", count: 6000)), "x-list": .array([1, 2, 3]), "x-flag": .bool(true)],
            ["x-short": "b", "x-nested": .table(["inner": .int(7)])],
            ["x-death-like": .array([.table(["count": 1, "reason": "rejected", "queue": "q"])]), "x-bytes": .bytes([0, 1, 2])],
            [:],
            ["x-again": .string(String(repeating: "c", count: 5000))],
        ]
        for _ in 1...3 {
            for table in tables {
                #expect(AMQPTable(cTable: arena.table(table)) == table)
                arena.recycle()
            }
        }
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

    /// A copy's headers: entries set over the original's without copying its table. Read
    /// back, and encoded, they are the original's with each override in place of its key.
    @Test func headerOverridesReadAndEncodeAsTheMergedTable() {
        var properties = AMQPProperties.persistentJSON(messageID: "m-1")
        properties.headers = ["kept": "original", "x-warren-attempt": 1]
        let original = properties
        properties.overrideHeaders([HeaderOverride("x-warren-attempt", 2), HeaderOverride("added", "new")])
        properties.overrideHeaders([HeaderOverride("added", "later wins")])
        let merged: AMQPTable = ["kept": "original", "x-warren-attempt": 2, "added": "later wins"]
        #expect(properties.headers == merged)
        #expect(original.headers == ["kept": "original", "x-warren-attempt": 1], "the original is not touched")
        let arena = CArena()
        #expect(AMQPProperties(properties.cProperties(in: arena)).headers == merged)
        var plain = original
        plain.headers = merged
        #expect(properties == plain, "equal to the same headers set as a whole")

        // Without any headers of its own, the overrides are the whole table.
        var bare = AMQPProperties()
        bare.overrideHeaders([HeaderOverride("only", true)])
        #expect(AMQPProperties(bare.cProperties(in: arena)).headers == ["only": true])

        // Setting `headers` replaces the overrides too.
        properties.headers = ["fresh": "table"]
        #expect(AMQPProperties(properties.cProperties(in: arena)).headers == ["fresh": "table"])
    }

    /// The C entries of a table with overrides are sorted by key as `table(_:)` sorts them.
    @Test func overriddenTablesAreSortedByKeyBytes() {
        let arena = CArena()
        let encoded = arena.table(["b": 1, "d": 2], overriddenBy: [HeaderOverride("c", 3), HeaderOverride("a", 4), HeaderOverride("d", 5)])
        let keys = (0..<Int(encoded.num_entries)).map { index in
            let key = encoded.entries[index].key
            return String(decoding: UnsafeRawBufferPointer(start: key.bytes, count: key.len), as: UTF8.self)
        }
        #expect(keys == ["a", "b", "c", "d"])
        #expect(AMQPTable(cTable: encoded) == ["a": 4, "b": 1, "c": 3, "d": 5])
    }
}
