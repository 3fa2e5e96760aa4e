import Testing
import Warren
import WarrenAMQP

@Suite struct TraceHeadersTests {
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func parsesTheHeadersOfAMessage() throws {
        let trace = try #require(TraceHeaders(["traceparent": .string(parent), "tracestate": .string("congo=t61rcWkgMzE")]))
        #expect(trace.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace.spanID == "00f067aa0ba902b7")
        #expect(trace.traceParent == parent)
        #expect(trace.traceState == "congo=t61rcWkgMzE")
    }

    @Test func aByteHeaderIsReadAsText() {
        #expect(TraceHeaders(["traceparent": .bytes(Array(parent.utf8))])?.traceParent == parent)
    }

    @Test(arguments: [
        "", "garbage", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    ])
    func anInvalidTraceparentIsNoTrace(_ value: String) {
        #expect(TraceHeaders(["traceparent": .string(value)]) == nil)
        #expect(throws: (any Error).self) { try TraceHeaders(traceParent: value) }
    }

    @Test func noHeaderIsNoTrace() {
        #expect(TraceHeaders([:]) == nil)
        #expect(TraceHeaders(["traceparent": .int(1)]) == nil)
    }

    @Test func aMalformedTracestateKeepsTheTrace() {
        #expect(TraceHeaders(["traceparent": .string(parent), "tracestate": .string("=,=")])?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test func aChildKeepsTraceFlagsAndStateWithANewSpan() throws {
        let trace = try TraceHeaders(traceParent: parent, traceState: "a=1")
        let child = trace.child()
        #expect(child.traceID == trace.traceID)
        #expect(child.spanID != trace.spanID)
        #expect(child.traceParent.hasSuffix("-01"))
        #expect(child.traceState == "a=1")
    }

    @Test func newTracesAreSampledAndDistinct() {
        let one = TraceHeaders.newTrace(), two = TraceHeaders.newTrace()
        #expect(one.traceID != two.traceID)
        #expect(one.traceParent.count == 55 && one.traceParent.hasPrefix("00-") && one.traceParent.hasSuffix("-01"))
    }

    @Test func writeSetsBothHeadersAndDropsAStaleState() throws {
        var headers: AMQPTable = ["tracestate": .string("stale=1"), "other": .string("kept")]
        try TraceHeaders(traceParent: parent).write(into: &headers)
        #expect(headers == ["traceparent": .string(parent), "other": .string("kept")])
    }
}
