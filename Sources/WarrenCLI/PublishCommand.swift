import ArgumentParser
import DequeModule
import Logging
import Warren
import WarrenAMQP
import WarrenHosting

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `warren publish`: sends test messages with publisher confirms, so a person can drive a worker.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish persistent test messages with publisher confirms.",
        discussion: """
        Each message is persistent, application/json, with a unique message_id, published with the \
        mandatory flag and confirmed by the broker. With the default target (the default exchange, \
        routing key = the queue) the queue's topology is declared first, exactly as the worker declares it. \
        "confirmed" counts messages the broker confirmed and routed to a queue. \
        Exits 1 if any message was nacked, unroutable or unconfirmed.

        Tracing: every message carries a W3C traceparent header (a span of its own). All messages \
        of one run share a trace: a new one, or the caller's when --traceparent / TRACEPARENT (and \
        TRACESTATE) is given. The summary line names the trace id, to find the worker's log lines \
        (trace_id) and spans. A --header traceparent=... is sent as given.
        """
    )

    @OptionGroup var broker: BrokerOptions

    @Option(help: "How many messages (ignored with --stdin-lines).")
    var count: Int = 1

    @Option(help: "Message body (default {}).")
    var body: String?

    @Option(name: .customLong("body-file"), help: "Read the body from this file.")
    var bodyFile: String?

    @Flag(name: .customLong("stdin-lines"), help: "Publish each line of standard input as one message.")
    var stdinLines = false

    @Option(help: "Publish at most this many messages per second.")
    var rate: Double?

    @Option(help: "Exchange (default: the default exchange, routing to the queue).")
    var exchange: String?

    @Option(name: .customLong("routing-key"), help: "Routing key (default: the queue name).")
    var routingKey: String?

    @Option(name: .customLong("header"), help: "A header K=V (string value); repeatable.")
    var headers: [String] = []

    @Option(name: .customLong("traceparent"), help: "W3C traceparent the messages' trace continues (env TRACEPARENT; default: a new trace).")
    var traceParent: String?

    @Option(name: .customLong("metrics-file"), help: "At exit, write warren_publish_confirms_total in Prometheus text format to this file (node_exporter textfile collector).")
    var metricsFile: String?

    /// Unconfirmed publishes in flight at once: enough to keep the broker busy, bounded memory.
    static let window = 1000

    func validate() throws {
        let sources = [body != nil, bodyFile != nil, stdinLines].filter { $0 }.count
        guard sources <= 1 else { throw ValidationError("use only one of --body, --body-file and --stdin-lines") }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        if let rate { guard rate > 0 else { throw ValidationError("--rate must be positive") } }
        for header in headers where !header.contains("=") {
            throw ValidationError("--header '\(header)' must be K=V")
        }
    }

    func run() async throws {
        let configuration = try broker.resolved()
        let bodies = try loadBodies()
        let trace = try runTrace()
        let metrics = metricsFile.map { _ in WarrenMetrics.bootstrap() }
        let confirms = PublishMetrics()
        var headerTable: AMQPTable = [:]
        for header in headers {
            let equals = header.firstIndex(of: "=")!
            headerTable[String(header[..<equals])] = .string(String(header[header.index(after: equals)...]))
        }

        let topology = try broker.topology(of: configuration)
        let connection: AMQPConnection
        do {
            // Every node of a URL list, in this process's order, each with its own deadline.
            connection = try await AMQPConnection.connect(
                configuration.amqp(connectionName: ConnectionConfiguration.processName("warren") + " publish"),
                nodes: configuration.orderedURLs).connection
        } catch {
            printError("warren publish: cannot connect to \(configuration.urls.redacted): \(error)")
            throw WarrenExit.failure
        }
        let target = (exchange: exchange ?? "", routingKey: routingKey ?? configuration.queue)
        if exchange == nil {
            do {
                try await topology.declare(on: connection)
            } catch {
                printError("warren publish: cannot declare the topology of '\(configuration.queue)': \(error)")
                await connection.close()
                throw WarrenExit.failure
            }
        }

        let start = ContinuousClock.now
        var tally = Tally(metrics: confirms)
        // One task enqueues in input order (so --stdin-lines keeps its order on the wire) and
        // keeps at most `window` confirmations outstanding.
        var outstanding: Deque<PublishConfirmation> = []
        for (index, body) in bodies.enumerated() {
            if let rate {
                let due = start + .seconds(Double(index) / rate)
                if due > .now { try? await Task.sleep(until: due) }
            }
            if outstanding.count >= Self.window {
                await tally.record(outstanding.removeFirst())
            }
            var properties = AMQPProperties.persistentJSON(messageID: UUID().uuidString.lowercased())
            properties.timestamp = UInt64(time(nil))
            var messageHeaders = headerTable
            // Milliseconds, as RabbitMQ's message-timestamp plugin writes it: the consumer's
            // `warren_message_age_seconds` reads it.
            messageHeaders[MessageAge.header] = .int(MessageAge.nowMilliseconds())
            if messageHeaders[TraceHeaders.traceParentKey] == nil { trace.child().write(into: &messageHeaders) }
            properties.headers = messageHeaders
            outstanding.append(connection.enqueuePublish(
                exchange: target.exchange, routingKey: target.routingKey, mandatory: true, properties: properties, body: body))
            tally.published += 1
        }
        for confirmation in outstanding { await tally.record(confirmation) }
        await connection.close()

        let seconds = Double(start.duration(to: .now).milliseconds) / 1000
        let perSecond = seconds > 0 ? Double(tally.confirmed) / seconds : 0
        print("published \(tally.published), confirmed \(tally.confirmed), nacked \(tally.nacked), unroutable \(tally.unroutable) in \(Self.format(seconds, 2)) s (\(Self.format(perSecond, 0)) msg/s), trace_id \(trace.traceID)")
        if let metrics, let metricsFile { try writeMetrics(metrics.emitToBuffer(), to: metricsFile) }
        if let firstError = tally.firstError {
            // "confirmed" counts messages the broker confirmed *and* routed to a queue: the broker
            // also confirms a returned (unroutable) message, but it reached no queue.
            printError("warren publish: \(tally.published - tally.confirmed) of \(tally.published) message(s) not delivered to a queue; first error: \(firstError)")
            throw WarrenExit.failure
        }
    }

    private func loadBodies() throws -> [[UInt8]] {
        if stdinLines {
            var lines: [[UInt8]] = []
            while let line = readLine(strippingNewline: true) {
                lines.append(Array(line.utf8))
            }
            return lines
        }
        let single: [UInt8]
        if let bodyFile {
            guard let file = fopen(bodyFile, "rb") else {
                throw ValidationError("cannot read --body-file \(bodyFile): \(String(cString: strerror(errno)))")
            }
            defer { fclose(file) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let read = fread(&chunk, 1, chunk.count, file)
                if read <= 0 { break }
                bytes += chunk[0..<read]
            }
            single = bytes
        } else {
            single = Array((body ?? "{}").utf8)
        }
        return Array(repeating: single, count: count)
    }

    private static func format(_ value: Double, _ decimals: Int) -> String {
        let scale = (0..<decimals).reduce(1.0) { value, _ in value * 10 }
        let rounded = (value * scale).rounded() / scale
        return decimals == 0 ? String(Int(rounded)) : String(rounded)
    }

    /// The run's trace: the caller's (`--traceparent`, `TRACEPARENT`/`TRACESTATE`) or a new one.
    private func runTrace() throws -> TraceHeaders {
        let environment = SettingsResolver.processEnvironment()
        guard let parent = traceParent ?? environment["TRACEPARENT"] else { return .newTrace() }
        do {
            return try TraceHeaders(traceParent: parent, traceState: environment["TRACESTATE"])
        } catch {
            throw ValidationError("\(traceParent == nil ? "TRACEPARENT" : "--traceparent") '\(parent)' is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>): \(error)")
        }
    }

    /// Writes to a temporary file and renames it, so a collector never reads half a file.
    private func writeMetrics(_ text: [UInt8], to path: String) throws {
        let temporary = path + ".tmp"
        guard let file = fopen(temporary, "wb") else {
            printError("warren publish: cannot write --metrics-file \(temporary): \(String(cString: strerror(errno)))")
            throw WarrenExit.failure
        }
        let written = text.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file)
        guard written == text.count, closed == 0, rename(temporary, path) == 0 else {
            printError("warren publish: cannot write --metrics-file \(path): \(String(cString: strerror(errno)))")
            throw WarrenExit.failure
        }
    }

    private struct Tally {
        let metrics: PublishMetrics
        var published = 0
        var confirmed = 0
        var nacked = 0
        var unroutable = 0
        var firstError: Error?

        mutating func record(_ confirmation: PublishConfirmation) async {
            do {
                try await confirmation.wait()
                confirmed += 1
                metrics.record(error: nil)
            } catch {
                metrics.record(error: error)
                let code = (error as? AMQPError)?.code
                if code == .unroutable { unroutable += 1 }
                if code == .publishNacked { nacked += 1 }
                if firstError == nil { firstError = error }
            }
        }
    }
}
