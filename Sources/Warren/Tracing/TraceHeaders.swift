import W3CTraceContext
import WarrenAMQP

/// A message's W3C trace context: its `traceparent` and `tracestate` headers, parsed.
///
/// Warren reads it from every delivery, without any tracer, so that log lines carry the
/// message's `trace_id`; and `warren publish` writes one into every message it sends. A tracer
/// bootstrapped through swift-distributed-tracing reads and writes the same headers itself (see
/// `AMQPHeadersExtractor`), and then spans link up as well.
///
/// A value type, safe to use anywhere.
public struct TraceHeaders: Sendable, Equatable {
    /// The W3C header holding version, trace id, parent span id and flags.
    public static let traceParentKey = "traceparent"
    /// The W3C header holding vendor-specific trace state.
    public static let traceStateKey = "tracestate"

    private var context: TraceContext

    /// Parses header values. Throws when `traceparent` is not a valid version-00 W3C value (or
    /// `tracestate` is malformed), with the reason.
    public init(traceParent: String, traceState: String? = nil) throws {
        context = try TraceContext(traceParentHeaderValue: traceParent, traceStateHeaderValue: traceState)
    }

    /// The context a message carries; `nil` when it has no `traceparent` header or an invalid
    /// one (then `tracestate` is ignored too, as the W3C specification requires).
    public init?(_ headers: AMQPTable) {
        let extractor = AMQPHeadersExtractor()
        guard let parent = extractor.extract(key: Self.traceParentKey, from: headers) else { return nil }
        let state = extractor.extract(key: Self.traceStateKey, from: headers)
        // A malformed tracestate alone must not lose the trace: keep the parent.
        guard let parsed = (try? TraceContext(traceParentHeaderValue: parent, traceStateHeaderValue: state))
            ?? (try? TraceContext(traceParentHeaderValue: parent)) else { return nil }
        context = parsed
    }

    private init(_ context: TraceContext) {
        self.context = context
    }

    /// A new trace (random trace id and span id), sampled: the start of a chain of messages.
    public static func newTrace() -> TraceHeaders {
        TraceHeaders(TraceContext(traceID: .random(), spanID: .random(), flags: .sampled, state: TraceState()))
    }

    /// A new span in the same trace: same trace id, flags and state, a new span id whose parent
    /// is this one (each published message is a span of its own).
    public func child() -> TraceHeaders {
        TraceHeaders(TraceContext(traceID: context.traceID, spanID: .random(), flags: context.flags, state: context.state))
    }

    /// The 32 lowercase hex digits of the trace id, as logged in `trace_id`.
    public var traceID: String { context.traceID.description }
    /// The 16 lowercase hex digits of the span id.
    public var spanID: String { context.spanID.description }
    /// The `traceparent` header value: `00-<trace id>-<span id>-<flags>`.
    public var traceParent: String { context.traceParentHeaderValue }
    /// The `tracestate` header value, when there is any state.
    public var traceState: String? { context.traceStateHeaderValue }

    /// Sets `traceparent` (and `tracestate`, or removes a stale one) in `headers`.
    public func write(into headers: inout AMQPTable) {
        headers[Self.traceParentKey] = .string(traceParent)
        headers[Self.traceStateKey] = traceState.map { .string($0) }
    }

    /// Equal when both header values are, as written.
    public static func == (lhs: TraceHeaders, rhs: TraceHeaders) -> Bool {
        lhs.traceParent == rhs.traceParent && lhs.traceState == rhs.traceState
    }
}
