import WarrenAMQP
import WarrenTracing

// Fuzz target for `TraceHeaders` (W3C `traceparent`/`tracestate`, parsed by
// swift-w3c-trace-context). The input is a `traceparent` value, then optionally a newline and
// a `tracestate` value.
//
// Properties:
// - parsing is deterministic;
// - a parsed context writes back the `traceparent` it came from, in canonical form (lowercase
//   hex, version 00), with a 32-digit trace id and a 16-digit span id, and that form parses
//   back to the same context; so does its `tracestate`;
// - reading the same values from a message's headers (as strings or as bytes) gives the same
//   context, or the parent alone when only `tracestate` is malformed (the W3C rule);
// - `write(into:)` then reading the headers back gives the same context;
// - `child()` keeps the trace id and state.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTraceParent(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let split = bytes.firstIndex(of: UInt8(ascii: "\n"))
    let parentBytes = Array(bytes[..<(split ?? bytes.endIndex)])
    let stateBytes = split.map { Array(bytes[(bytes.index(after: $0))...]) }
    let parent = String(decoding: parentBytes, as: UTF8.self)
    let state = stateBytes.map { String(decoding: $0, as: UTF8.self) }

    let parsed = try? TraceHeaders(traceParent: parent, traceState: state)
    check(parsed == (try? TraceHeaders(traceParent: parent, traceState: state)), "parsing is not deterministic")
    let parentOnly = try? TraceHeaders(traceParent: parent)

    var headers: AMQPTable = [TraceHeaders.traceParentKey: .string(parent)]
    var byteHeaders: AMQPTable = [TraceHeaders.traceParentKey: .bytes(parentBytes)]
    if let state, let stateBytes {
        headers[TraceHeaders.traceStateKey] = .string(state)
        byteHeaders[TraceHeaders.traceStateKey] = .bytes(stateBytes)
    }
    let fromHeaders = TraceHeaders(headers)
    check(fromHeaders == (parsed ?? parentOnly), "headers \(headers) read as \(String(describing: fromHeaders))")
    if parentBytes.elementsEqual(parent.utf8) && (stateBytes.map { $0.elementsEqual(state!.utf8) } ?? true) {
        check(TraceHeaders(byteHeaders) == fromHeaders, "byte headers read differently from string headers")
    }

    guard let context = fromHeaders else { return 0 }
    let written = context.traceParent
    check(written.utf8.count == 55 && written.hasPrefix("00-"), "traceparent written as \(written)")
    check(context.traceID.utf8.count == 32 && context.spanID.utf8.count == 16, "ids \(context.traceID) \(context.spanID)")
    check(written == "00-\(context.traceID)-\(context.spanID)-\(written.suffix(2))", "traceparent \(written) does not hold the ids")
    check(written.utf8.allSatisfy { $0 == UInt8(ascii: "-") || (48...57).contains($0) || (97...102).contains($0) },
          "traceparent \(written) is not lowercase hex")
    check(written == parent.lowercased() || !parent.hasPrefix("00-") || parent.utf8.count != 55,
          "\(parent.debugDescription) was rewritten as \(written)")
    let reparsed = try? TraceHeaders(traceParent: written, traceState: context.traceState)
    check(reparsed == context, "\(written) / \(String(describing: context.traceState)) does not parse back")

    var out: AMQPTable = ["other": .int(1)]
    context.write(into: &out)
    check(TraceHeaders(out) == context && out["other"] == .int(1), "write(into:) does not read back: \(out)")

    let child = context.child()
    check(child.traceID == context.traceID && child.traceState == context.traceState, "child() changed the trace")
    return 0
}
