import WarrenAMQP

/// Warren's crash-loop detection: stops a message that kills the worker process (a crash, an
/// OOM kill) from coming back forever, without dead-lettering the innocent messages that were
/// prefetched beside it.
///
/// **Who is a suspect.** A delivery the broker marks `redelivered`: some holder of it went away
/// (crashed, lost its connection, or was drained: a quorum queue itself returns, marked
/// `redelivered`, what it had in flight to a consumer that cancels).
///
/// **Where the count lives.** In the broker, so it survives the process: every run of a suspect
/// is recorded first by one persistent marker message, published with a confirm into the marker
/// queue `Q.crash.<key>` (durable, classic, `x-expires` 24 h), where `key` is a 64-bit FNV-1a hash
/// of the message id and body (`CrashMarkerKey`). When the run ends — with any outcome, even a
/// lost connection — the guard deletes that queue. A marker therefore outlives its run only when
/// the process died during it, and declaring the marker queue when the message next arrives
/// returns, as its message count, how many of its runs ended with the process dying.
///
/// **Who runs alone** (`plan(markedCrashes:limit:)`). A suspect with no marker has never been
/// running when the process died: it runs like any message, beside others, with its marker
/// (most suspects: messages given back by a drain or a lost connection, so a rolling restart
/// stays fast). A suspect with a marker was running when the process died: from then on it runs
/// *alone* — the consumer waits until none of its handlers is running, writes the marker, runs
/// it, and starts nothing else until it is settled (deliveries prefetched meanwhile stay
/// unstarted: returning them would make them suspects too). So after its first marked crash,
/// every further crash of such a message happened with it alone. Its first marked run may have
/// been beside others; every later one was alone. At `limit` (default 3) crashes while alone it
/// is not run again: it is dead-lettered with `x-warren-error-type: crash-loop` (reason
/// `crash_loop` in metrics).
///
/// **Why innocent messages cannot reach the limit.** A message beside the culprit when the
/// process died gets one marker, which only sends it to run alone next time; there it succeeds
/// and its marker queue is deleted. Only crashes while a message runs alone count towards the
/// limit, and only the running message is marked then. An innocent reaches the limit only if
/// the process dies for an outside reason (SIGKILL, host loss) during its own isolated runs,
/// `limit` times. Isolation is per consumer: in a process running several consumers, a crash in
/// another consumer's handler can coincide with an isolated run too.
///
/// A run settled just as the process died (its ack sent, its marker not yet deleted) leaves an
/// orphan marker queue of one message: the message does not come back, and the queue expires
/// after 24 h unused.
///
/// **Cost.** Only suspects pay: a queue declare (creating a durable queue), a confirmed publish
/// and a queue delete (a few loopback round trips, and metadata writes on the broker); only
/// suspects that were running at a crash also run alone.
///
/// **Skipped where the process knows the answer** (`UnmarkedDeliveries`). After a lost
/// *connection* (broker restart, forced close, network) every message the worker held comes
/// back `redelivered`: a whole prefetch window of suspects per replica. But only a run that was
/// in progress when a *process* died can leave a marker, and this process did not die: the
/// messages it held, received fresh or run unmarked, still have none. So their redeliveries to
/// this process run like fresh deliveries, unmarked and beside others, with no round trip
/// (measured: 3 broker operations per redelivered message before, none now;
/// `bench/crash-guard-churn.sh`). The memory is process-local on purpose: it is a cache of what
/// the broker's marker would say, for the last lost connection only; every cross-process fact
/// (a run that died with its process) lives in the broker as before. Running a message
/// unmarked never makes anything count against the limit, so the innocent keep their
/// guarantee. The cache can be stale in one case: another replica took the message after the
/// connection loss, crashed on it (a marker now exists) and the broker then gave it back here;
/// this process runs it beside others once, unmarked, which can cost one extra crash before
/// the marked path takes over. Redeliveries of messages another replica held (after a broker
/// restart with several replicas) still take the marker path. Rejected alternative: one marker
/// queue per process would avoid the per-message queues, but a process restarted after a
/// crash, or another replica, has no AMQP means to find the dead process's queue (no listing
/// without the management API).
///
/// If the count cannot be read or the marker written (the publishing connection is down), the
/// suspect runs alone, uncounted; on quorum queues the broker's `x-delivery-limit` remains as the
/// last line (`Topology.deliveryLimit`).
///
/// Used from the consumer's delivery loop and handler tasks; its calls run on the publisher
/// connection's thread.
struct CrashGuard: Sendable {
    /// Marker queues left behind (the message went elsewhere) vanish after a day unused.
    static let markerExpiry: Duration = .seconds(86_400)
    /// Longest wait for the marker round trips; then the suspect runs unguarded.
    static let timeout: Duration = .seconds(10)

    let queue: String
    let limit: Int
    let publisher: WarrenConnection
    /// Deliveries this process knows carry no marker (see above): no round trips for them.
    let unmarked = UnmarkedDeliveries()

    /// How a suspect runs, from the number of its marked runs that ended with the process dying.
    enum Plan: Sendable, Equatable {
        /// Never running at a crash: beside other messages.
        case beside
        /// Running at a crash before; `crashesAlone` of those crashes happened while it ran alone.
        case alone(crashesAlone: Int)
        /// It crashed the worker `crashesAlone` times while alone: dead-letter it.
        case crashLoop(crashesAlone: Int)
    }

    /// Pure: the first marked crash may have happened beside others, every later one alone.
    static func plan(markedCrashes: Int, limit: Int) -> Plan {
        guard markedCrashes > 0 else { return .beside }
        let crashesAlone = markedCrashes - 1
        return crashesAlone >= limit ? .crashLoop(crashesAlone: crashesAlone) : .alone(crashesAlone: crashesAlone)
    }

    func markerQueue(for delivery: AMQPDelivery) -> String {
        "\(queue).crash.\(CrashMarkerKey(messageID: delivery.properties.messageID, body: delivery.body).hex)"
    }

    /// How many runs of the message behind `marker` ended with the process dying (declaring the
    /// marker queue if it is new).
    func markedCrashes(_ marker: String) async throws -> Int {
        try await withBrokerTimeout(Self.timeout, "crash marker \(marker)") {
            Int(try await publisher.connection().declareQueue(marker, durable: true, arguments: [
                "x-queue-type": .string("classic"), "x-expires": .int(Self.markerExpiry.milliseconds),
            ]).messages)
        }
    }

    /// Records the run about to start; returns once the broker confirmed it.
    func mark(_ marker: String) async throws {
        try await withBrokerTimeout(Self.timeout, "crash marker \(marker)") {
            try await publisher.connection().publish(routingKey: marker, properties: AMQPProperties(deliveryMode: 2), body: [])
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
