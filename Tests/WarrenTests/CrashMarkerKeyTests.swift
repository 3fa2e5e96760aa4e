import Testing
@testable import Warren

@Suite struct CrashMarkerKeyTests {
    @Test func markerKeyFollowsTheMessageNotTheDelivery() {
        let key = CrashMarkerKey(messageID: "m-1", body: Array("{}".utf8))
        #expect(key == CrashMarkerKey(messageID: "m-1", body: Array("{}".utf8)))
        #expect(key != CrashMarkerKey(messageID: "m-2", body: Array("{}".utf8)))
        #expect(key != CrashMarkerKey(messageID: "m-1", body: Array("{ }".utf8)))
        #expect(key != CrashMarkerKey(messageID: nil, body: Array("{}".utf8)))
        // The id and body are kept apart: "ab" + "" is not "a" + "b".
        #expect(CrashMarkerKey(messageID: "ab", body: []) != CrashMarkerKey(messageID: "a", body: Array("b".utf8)))
        #expect(key.hex.count == 16 && key.hex.allSatisfy(\.isHexDigit))
        // FNV-1a of the separator byte alone, worked by hand: a fixed name across versions.
        let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
        let prime: UInt64 = 0x0000_0100_0000_01b3
        #expect(CrashMarkerKey(messageID: nil, body: []).value == (offsetBasis ^ 0xff) &* prime)
    }
}
