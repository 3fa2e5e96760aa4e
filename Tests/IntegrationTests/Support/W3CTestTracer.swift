import InMemoryTracing
import Synchronization
import Tracing
import Warren

/// swift-distributed-tracing's `InMemoryTracer`, speaking W3C `traceparent` on the wire, as an
/// OpenTelemetry tracer does: spans are recorded in memory, and a message's `traceparent`
/// header becomes the parent of the span started from it.
///
/// `InstrumentationSystem` can be bootstrapped once per process: tests share `shared` and find
/// their own spans by attributes (the queue, the message id). Consumers look the tracer up when
/// they start, so a test touches `shared` before creating its consumer.
struct W3CTestTracer: Tracer {
    typealias Span = InMemorySpan

    let recorder = InMemoryTracer(idGenerator: .init(
        nextTraceID: { TraceHeaders.newTrace().traceID },
        nextSpanID: { TraceHeaders.newTrace().spanID }))

    static let shared: W3CTestTracer = {
        let tracer = W3CTestTracer()
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }()

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> InMemorySpan {
        recorder.startSpan(operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID, line: line)
    }

    func forceFlush() { recorder.forceFlush() }

    var finishedSpans: [FinishedInMemorySpan] { recorder.finishedSpans }

    func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let parent = extractor.extract(key: TraceHeaders.traceParentKey, from: carrier),
              let trace = try? TraceHeaders(traceParent: parent) else { return }
        context.inMemorySpanContext = InMemorySpanContext(traceID: trace.traceID, spanID: trace.spanID, parentSpanID: nil)
    }

    func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let span = context.inMemorySpanContext else { return }
        injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: TraceHeaders.traceParentKey, into: &carrier)
    }
}
