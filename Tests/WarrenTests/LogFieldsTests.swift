import Logging
import Testing
@testable import Warren

@Suite struct LogFieldsTests {
    private func event(_ metadata: Logger.Metadata?, error: (any Error)? = nil) -> LogEvent {
        LogEvent(
            level: .warning, message: "m", error: error, metadata: metadata, source: "s", file: "f", function: "fn", line: 1)
    }

    /// The usual line (no provider, no error, no reserved key): the call's value wins over the
    /// handler's for a key both have, and the fields come sorted by key.
    @Test func callMetadataWinsAndFieldsAreSorted() {
        let fields = LogFields.merge(
            handler: ["queue": "q", "reason": "handler", "attempt": "1"], provider: nil,
            event: event(["reason": "call", "event": "message.dead_lettered"]))
        #expect(fields.map(\.key) == ["attempt", "event", "queue", "reason"])
        #expect(fields.map { "\($0.value)" } == ["1", "message.dead_lettered", "q", "call"])
    }

    /// The length-first check names exactly the reserved keys: each of them, and none of their
    /// neighbours (a prefix, an extension, another key of the same length, a different case).
    @Test func isReservedNamesExactlyTheReservedKeys() {
        for name in LogFields.reserved {
            #expect(LogFields.isReserved(name), "\(name)")
            for other in [String(name.dropLast()), name + "s", "meta." + name, name.uppercased()] {
                #expect(!LogFields.isReserved(other), "\(other)")
            }
        }
        for key in ["", "queue", "event", "reason", "attempt", "trace_id", "message_id", "error_type", "lines", "tz", "mgs"] {
            #expect(!LogFields.isReserved(key), "\(key)")
        }
    }

    /// Every path gives the same answer: a reserved key (renamed), an error, or a provider
    /// (which takes the general path) leave the plain fields as the usual line has them.
    @Test func theGeneralPathAgreesOnThePlainFields() {
        struct Failed: Error {}
        let handler: Logger.Metadata = ["queue": "q", "reason": "handler"]
        let call: Logger.Metadata = ["reason": "call", "event": "e"]
        let plain = LogFields.merge(handler: handler, provider: nil, event: event(call)).map { "\($0.key)=\($0.value)" }
        let reserved = LogFields.merge(handler: handler, provider: nil, event: event(call.merging(["ts": "t"]) { a, _ in a }))
        let withError = LogFields.merge(handler: handler, provider: nil, event: event(call, error: Failed()))
        let provided = LogFields.merge(handler: handler, provider: Logger.MetadataProvider { ["p": "v"] }, event: event(call))
        #expect(plain == ["event=e", "queue=q", "reason=call"])
        #expect(reserved.map { "\($0.key)=\($0.value)" } == ["event=e", "meta.ts=t", "queue=q", "reason=call"])
        #expect(withError.map { "\($0.key)=\($0.value)" } == ["error=Failed: Failed()", "event=e", "queue=q", "reason=call"])
        #expect(provided.map { "\($0.key)=\($0.value)" } == ["event=e", "p=v", "queue=q", "reason=call"])
    }
}
