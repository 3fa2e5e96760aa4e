import Warren
import WarrenAMQP

/// The example handler users replace with their own. The body must be a JSON object:
/// - `{"work_ms": 200}` sleeps that long (simulated work; cancellable), then succeeds;
/// - `{"cpu_ms": 200}` spins the CPU that long, holding its thread (simulated CPU-bound work:
///   with two such handlers both cooperative threads of a 2-core machine are busy, which shows
///   that heartbeats and acks still flow because librabbitmq runs on its own thread);
/// - `{"fail": "permanent"}` throws a `PermanentError`: dead-lettered at once;
/// - `{"fail": "transient"}` throws a passing error: retried (`WARREN_RETRY_DELAYS`), then
///   dead-lettered;
/// - `{"fail_until_attempt": N}` throws a passing error on attempts 1 to N-1 and succeeds on
///   attempt N (`x-warren-attempt`), to watch retries work;
/// - `{"publish_to_exchange": "E"}` first publishes `{}` to exchange `E` through
///   `context.publish`: if `E` does not exist the broker closes the publishing channel (404) and
///   the publish throws, a passing error of this handler's own (retried, then dead-lettered), so
///   a soak can inject a handler whose bad publish breaks the channel other handlers share;
/// - `{"record_to": "W"}`, once everything else asked for has succeeded, publishes a witness of
///   this handling to queue `W` (default exchange) through `context.publish` and waits for its
///   confirm: body = this message's id, a fresh random `message_id` (so a witness redelivered to
///   its reader is not mistaken for a second handling), headers `demo-attempt` and
///   `demo-redelivered`. An independent client reading `W` then counts handlings by message id
///   (`scripts/soak.py`); if the witness cannot be published the handler fails (retried);
/// - `{"fail": "crash"}` (or `{"crash": true}`) kills the process with a fatal error, as a
///   handler bug or an OOM kill would (the message stays unacked, so the broker redelivers it,
///   and Warren's crash-loop detection dead-letters it after `WARREN_CRASH_LIMIT` crashes);
///   with `work_ms`, after sleeping that long (a crash in the middle of work). It logs
///   `demo.crash` at `critical` first: the last line before a crash, which the crash handler
///   must still get out (`LogOutput.installCrashFlush`);
/// - a body that is not a JSON object is dead-lettered with the decoding error as the reason;
/// - any other object succeeds at once.
struct DemoHandler: MessageHandler {
    /// What a demo message asks for. Warren decodes it (JSON); a body that is not such an
    /// object is dead-lettered as an `UndecodableMessage` without reaching `handle`.
    struct DemoCommand: Decodable, Sendable, Equatable {
        var work_ms: Int?
        var cpu_ms: Int?
        var fail: String?
        var fail_until_attempt: Int?
        var crash: Bool?
        var publish_to_exchange: String?
        var record_to: String?
    }

    struct DemoFailure: Error, CustomStringConvertible {
        var kind: String
        var description: String { "demo failure requested: \(kind)" }
    }

    struct InvalidBody: PermanentError, CustomStringConvertible {
        var description: String
    }

    /// As every `Decodable` message (`JSONMessageDecoding`), but the usual flat bodies are read
    /// by `DemoCommandReader` instead of `JSONDecoder`: same messages accepted and refused.
    func decode(_ body: [UInt8], context: MessageContext) throws -> DemoCommand {
        try JSONMessageDecoding.decode(DemoCommand.self, from: body, properties: context.properties, trying: DemoCommandReader.read)
    }

    func handle(_ command: DemoCommand, context: MessageContext) async throws {
        if command.crash == true || command.fail == "crash" {
            // With `work_ms`, the crash comes after that much work: in the middle of a batch, as
            // in production, while the other handlers run beside it.
            try await work(command)
            context.logger.critical("demo handler: crashing the process as requested", metadata: ["event": "demo.crash"])
            fatalError("demo handler: crash requested by message \(context.properties.messageID ?? "?")")
        }
        if let kind = command.fail {
            // Reported as `DemoFailure` either way (`PermanentFailure` names what it wraps).
            if kind == "permanent" { throw PermanentFailure(DemoFailure(kind: kind)) }
            throw DemoFailure(kind: kind)
        }
        if let exchange = command.publish_to_exchange {
            try await context.publish(Array("{}".utf8), exchange: exchange, routingKey: "demo")
        }
        if let until = command.fail_until_attempt, context.attempt < until {
            throw DemoFailure(kind: "transient until attempt \(until), this is attempt \(context.attempt)")
        }
        // Only when asked: an `await` of `work` costs a task frame and an executor check on
        // every message even when it has nothing to do.
        if command.work_ms != nil { try await work(command) }
        if let milliseconds = command.cpu_ms {
            guard (0...60_000).contains(milliseconds) else {
                throw InvalidBody(description: "cpu_ms must be from 0 to 60000, got \(milliseconds)")
            }
            let end = ContinuousClock.now + .milliseconds(milliseconds)
            var spins = 0
            while ContinuousClock.now < end { spins &+= 1 }
        }
        if let witnessQueue = command.record_to {
            try await context.publish(
                Array((context.properties.messageID ?? "").utf8), routingKey: witnessQueue,
                properties: AMQPProperties(
                    headers: ["demo-attempt": .int(Int64(context.attempt)), "demo-redelivered": .bool(context.redelivered)],
                    deliveryMode: 2, messageID: String(UInt64.random(in: .min ... .max), radix: 16)))
        }
    }

    /// The simulated work `work_ms` asks for, if any: a cancellable sleep of at most an hour.
    private func work(_ command: DemoCommand) async throws {
        guard let milliseconds = command.work_ms else { return }
        guard (0...3_600_000).contains(milliseconds) else {
            throw InvalidBody(description: "work_ms must be from 0 to 3600000, got \(milliseconds)")
        }
        try await Task.sleep(for: .milliseconds(milliseconds))
    }
}
