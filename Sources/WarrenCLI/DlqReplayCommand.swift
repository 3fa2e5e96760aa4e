import ArgumentParser
import Warren
import WarrenAMQP

#if canImport(Glibc)
import Glibc
#endif

/// `warren dlq replay`: moves dead-lettered messages back to their queue, losing none.
struct DlqReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Move messages from <queue>.dead back to <queue>, with publisher confirms.",
        discussion: """
        Publish first, ack after the confirm: in batches of --batch, the copies are published to \
        <queue> (default exchange, mandatory, persistent), every confirm is awaited, and only then \
        are the originals removed from <queue>.dead. A crash in between may leave a message in both \
        queues, never in neither. The copy keeps every property (message_id included) and header \
        except x-death, x-first-death-*, x-last-death-* and Warren's attempt and error headers \
        (x-warren-attempt(s), x-warren-error-type, x-warren-error-message, x-warren-failed-at), \
        so its attempts start over; it gains x-warren-replayed-at. Only the messages that were in \
        <queue>.dead at the start are considered. Prints "replayed N, kept M" (M: read but not \
        matching --where-error-type, left in <queue>.dead).

        Exit codes: 0 done; 1 a copy was nacked or unroutable, or the broker failed (that batch \
        stays in <queue>.dead); 130/143 stopped by SIGINT/SIGTERM after finishing the batch being \
        confirmed (a second signal exits at once, equally safely).
        """
    )

    @OptionGroup var broker: BrokerOptions

    @Option(help: "Replay at most this many messages.")
    var count: Int?

    @Flag(help: "Replay every message that was in <queue>.dead at the start.")
    var all = false

    @Option(name: .customLong("where-error-type"), help: "Replay only messages whose reason (see `warren dlq stats`) is this; leave the others.")
    var whereErrorType: String?

    @Option(help: "Messages published per confirmed batch; 1 = one at a time.")
    var batch = 100

    func validate() throws {
        guard (count != nil) != all else { throw ValidationError("pass exactly one of --count N and --all") }
        if let count { guard count >= 1 else { throw ValidationError("--count must be at least 1") } }
        guard (1...10_000).contains(batch) else { throw ValidationError("--batch must be from 1 to 10000") }
    }

    func run() async throws {
        let session = try await DlqSession.open(broker, command: "replay")
        let connection = session.connection
        let target = session.topology.queue
        // Through the default exchange a missing queue makes every copy unroutable: say so up front.
        do {
            _ = try await connection.inspectQueue(target)
        } catch {
            let missing = (error as? AMQPError)?.replyCode == 404
            throw await session.fail(missing ? "the queue '\(target)' does not exist: nothing to replay into"
                                             : "cannot inspect '\(target)': \(error)")
        }
        DlqInterrupt.install()

        let wanted = count ?? session.initialCount
        // Without a filter at most one batch is held; with one, every message that does not match
        // stays unacked until the end, so the prefetch must cover the whole snapshot.
        let prefetch: UInt16? = whereErrorType == nil
            ? UInt16(min(Int(UInt16.max), 2 * batch))
            : (session.initialCount <= Int(UInt16.max) ? UInt16(max(1, session.initialCount)) : nil)
        var replayed = 0
        var kept: [UInt64] = []
        var failure: Error?
        if session.initialCount > 0 {
            do {
                try await DlqReader.read(
                    from: session.deadLetterQueue, on: connection, limit: session.initialCount, prefetch: prefetch
                ) { reader in
                    var pending: [AMQPDelivery] = []
                    func flush() async {
                        // Interrupted before publishing: abandon the batch (it was never published).
                        guard !pending.isEmpty, DlqInterrupt.receivedSignal == nil else { return }
                        if let error = await Self.replay(pending, to: target, on: connection) {
                            failure = error
                        } else {
                            replayed += pending.count
                        }
                        pending = []
                    }
                    while failure == nil, replayed + pending.count < wanted, let delivery = try await reader.next() {
                        if let whereErrorType, DlqMessage.reason(of: delivery.properties) != whereErrorType {
                            kept.append(delivery.deliveryTag)
                            continue
                        }
                        pending.append(delivery)
                        if pending.count == batch { await flush() }
                    }
                    if failure == nil { await flush() }
                }
            } catch {
                throw await session.fail("reading '\(session.deadLetterQueue)' failed after replaying \(replayed): \(error)")
            }
        }
        // Only now: requeued at once, a kept message would come straight back to this consumer.
        for tag in kept { connection.nack(tag, requeue: true) }
        await connection.close()

        print("replayed \(replayed), kept \(kept.count)")
        if let failure {
            printError("\(session.commandName): stopped: publishing to '\(target)' failed: \(failure); "
                + "the messages of that batch stay in '\(session.deadLetterQueue)'")
            throw WarrenExit.failure
        }
        if let signal = DlqInterrupt.receivedSignal {
            printError("\(session.commandName): interrupted by \(signal == SIGINT ? "SIGINT" : "SIGTERM") after "
                + "\(replayed) confirmed; the rest stays in '\(session.deadLetterQueue)'")
            throw WarrenExit.interrupted(by: signal)
        }
    }

    /// Publishes the copies of one batch, waits for every confirm, and only then acks the
    /// originals. Returns the first error, in which case no original of the batch is acked: a
    /// return for a copy without a message id cannot be told apart from its neighbours', so a
    /// partly failed batch is left whole in `Q.dead` (its confirmed copies become duplicates).
    private static func replay(_ batch: [AMQPDelivery], to queue: String, on connection: AMQPConnection) async -> Error? {
        let replayedAt = UTCTimestamp.now()
        let confirmations = batch.map { delivery in
            connection.enqueuePublish(
                exchange: "", routingKey: queue, mandatory: true,
                properties: DlqMessage.replayProperties(of: delivery.properties, replayedAt: replayedAt), body: delivery.body)
        }
        var firstError: Error?
        for confirmation in confirmations {
            do {
                try await confirmation.wait()
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { return firstError }
        for delivery in batch { connection.ack(delivery.deliveryTag) }
        return nil
    }
}
