import WarrenAMQP

/// Warren's crash-loop detection: stops a message that kills the worker process (a crash, an
/// OOM kill) from coming back forever, without dead-lettering the innocent messages that were
/// prefetched beside it.
///
/// **Who is a suspect.** A delivery the broker marks `redelivered`: some holder of it went away
/// (crashed, lost its connection, or — rarely — drained without republishing). The consumer
/// handles a suspect *alone*: it waits until every running handler of the consumer has
/// finished, runs the suspect on its own, and starts nothing else until it has been settled.
/// Deliveries prefetched meanwhile stay unstarted (they are not returned: a returned delivery
/// comes back `redelivered`, so returning them would turn each into a suspect in turn).
///
/// **Where the count lives.** In the broker, so it survives the process: before a suspect
/// runs, the guard publishes one persistent marker message, with a confirm, into the marker
/// queue `Q.crash.<key>` (durable, classic, `x-expires` 24 h), where `key` is a 64-bit FNV-1a
/// hash of the message id and body (`CrashMarkerKey`). When the handling ends — with any
/// outcome, even a lost connection — the guard deletes that queue. A marker therefore outlives
/// the handling only when the process died while the message ran alone. When a suspect
/// arrives, declaring its marker queue returns its message count: the number of times it has
/// crashed the worker in isolation. At `limit` (default 3) the message is not run again; it is
/// dead-lettered with `x-warren-error-type: crash-loop` (reason `crash_loop` in metrics).
///
/// **Why innocent messages cannot reach the count.** A marker is written only for the message
/// that runs alone, so a crash caused by another message never adds to an innocent's count,
/// however often the innocent is returned beside it (the broker's own delivery count, by
/// contrast, rises for every message a crash returns). An innocent's marker survives only if
/// the process dies for an outside reason during the innocent's own isolated run, `limit`
/// times: a SIGKILL or host loss, not a message. Isolation is per consumer: in a process
/// running several consumers, a crash in another consumer's handler can coincide with an
/// isolated run too.
///
/// **Cost.** Only suspects pay: a queue declare, a confirmed publish and a queue delete (a few
/// loopback round trips), plus running alone. Messages returned by a graceful drain are
/// republished rather than requeued, so they do not come back as suspects (see `WarrenConsumer`).
///
/// If the marker cannot be written (the publishing connection is down), the suspect still runs
/// alone but its crash is not counted; on quorum queues the broker's `x-delivery-limit` remains
/// as the last line (`Topology.deliveryLimit`).
///
/// Used from the consumer's delivery loop; its calls run on the publisher connection's thread.
struct CrashGuard: Sendable {
    /// Marker queues left behind (the message went elsewhere) vanish after a day unused.
    static let markerExpiry: Duration = .seconds(86_400)
    /// Longest wait for the marker round trips; then the suspect runs unguarded.
    static let timeout: Duration = .seconds(10)

    let queue: String
    let limit: Int
    let publisher: WarrenConnection

    /// What to do with a suspect.
    enum Verdict: Sendable {
        /// Run it alone; `marker` is the queue to delete afterwards, `crashes` the count so far.
        case handle(marker: String, crashes: Int)
        /// It has crashed the worker `crashes` times in isolation: dead-letter it.
        case crashLoop(marker: String, crashes: Int)
        /// The count could not be read or written; run it alone anyway.
        case unguarded(any Error)
    }

    func markerQueue(for delivery: AMQPDelivery) -> String {
        "\(queue).crash.\(CrashMarkerKey(messageID: delivery.properties.messageID, body: delivery.body).hex)"
    }

    /// Reads the suspect's crash count and, below the limit, records the run about to start.
    func admit(_ delivery: AMQPDelivery) async -> Verdict {
        let marker = markerQueue(for: delivery)
        do {
            return try await withBrokerTimeout(Self.timeout, "crash marker \(marker)") {
                let connection = try await publisher.connection()
                let crashes = Int(try await connection.declareQueue(marker, durable: true, arguments: [
                    "x-queue-type": .string("classic"), "x-expires": .int(Self.markerExpiry.milliseconds),
                ]).messages)
                if crashes >= limit { return .crashLoop(marker: marker, crashes: crashes) }
                try await connection.publish(routingKey: marker, properties: AMQPProperties(deliveryMode: 2), body: [])
                return .handle(marker: marker, crashes: crashes)
            }
        } catch {
            return .unguarded(error)
        }
    }

    /// The run ended without killing the process: forget it. Best effort: a marker that cannot
    /// be deleted now counts as one crash, and expires with its queue.
    func release(_ marker: String) async throws {
        _ = try await withBrokerTimeout(Self.timeout, "crash marker \(marker)") {
            try await publisher.connection().deleteQueue(marker)
        }
    }
}
