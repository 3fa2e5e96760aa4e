import Logging
import ServiceLifecycle
import Synchronization
import WarrenAMQP

/// Runs scheduled jobs so that each tick runs on exactly one of the replicas that run the same
/// jobs against the same broker, with the lease and the job's state held by RabbitMQ alone.
///
/// Per job, a durable quorum queue `<namespace>.schedule.<job>` with single active consumer
/// holds lease tokens; the replica the broker makes the active consumer receives them and is
/// the job's leader until its connection ends or it shuts down. Each token carries the newest
/// tick recorded as done, so a new leader, or a cluster restarted after an outage, knows which
/// ticks were missed (`MissedTickPolicy`). See Docs/scheduled-jobs.md for the protocol
/// and the failure cases.
///
/// List its connection before it in the `ServiceGroup`, as for consumers:
///
/// ```swift
/// let connection = WarrenConnection(configuration.connection(named: "jobs@host"))
/// let scheduler = try JobScheduler(namespace: "shop", jobs: [cleanup], connection: connection, logger: logger)
/// let group = ServiceGroup(services: [connection, scheduler], gracefulShutdownSignals: [.sigterm], logger: logger)
/// ```
///
/// - Important: Graceful shutdown gives the lease back at once (the tokens are requeued, so
///   another replica leads the next tick) and cancels runs in progress.
public final class JobScheduler: Service, Sendable {
    /// Prefix of the scheduler's broker names (`<namespace>.schedule…`); replicas that share it
    /// share the jobs' leases.
    public let namespace: String
    /// The jobs this scheduler runs.
    public let jobs: [ScheduledJob]
    private let connection: WarrenConnection
    private let logger: Logger
    /// How late a tick may start and still count as on time (`MissedTickPolicy.skip`): a
    /// takeover after a crash takes milliseconds, after a frozen leader about a heartbeat.
    private let grace: Int64 = 2

    /// Throws `JobScheduleError` when two jobs share a name or a broker name would pass 255 bytes.
    public init(namespace: String, jobs: [ScheduledJob], connection: WarrenConnection, logger: Logger) throws(JobScheduleError) {
        var names = Set<String>()
        for job in jobs {
            guard names.insert(job.name).inserted else { throw .invalid(job.name, "job '\(job.name)' is scheduled twice") }
            guard Self.leaseQueue(namespace, job.name).utf8.count <= 255 else {
                throw .invalid(job.name, "queue name \(Self.leaseQueue(namespace, job.name)) is longer than 255 bytes")
            }
        }
        self.namespace = namespace
        self.jobs = jobs
        self.connection = connection
        self.logger = logger
    }

    /// The job's lease queue.
    public static func leaseQueue(_ namespace: String, _ job: String) -> String { "\(namespace).schedule.\(job)" }
    /// The direct exchange that routes a built-in tick message to the work queue and the lease
    /// queue at once.
    public static func tickExchange(_ namespace: String) -> String { "\(namespace).schedule" }

    /// Competes for every job's lease and runs the ticks it leads, reconnecting after failures,
    /// until graceful shutdown or cancellation (`Service`; run it in a `ServiceGroup`). Returns
    /// once every job's task has ended.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for job in jobs {
                group.addTask { await self.keepLeading(job) }
            }
        }
    }

    /// Competes for the job's lease for as long as the service runs, reconnecting after
    /// failures (the `WarrenConnection` spaces connect attempts).
    private func keepLeading(_ job: ScheduledJob) async {
        let logger = {
            var logger = self.logger
            logger[metadataKey: "job"] = "\(job.name)"
            return logger
        }()
        let metrics = JobMetrics(job: job.name, interval: job.schedule.longestInterval(after: WallClock.nowMilliseconds() / 1000))
        let leading = LeadershipFlag()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var failure: (any Error)?
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.lead(job, metrics: metrics, logger: logger, leading: leading)
                }
            } catch {
                failure = error
            }
            metrics.isLeader(false)
            if Task.isCancelled || Task.isShuttingDownGracefully { break }
            let reason = failure.map { "\($0)" } ?? "the broker ended the lease consumer"
            if leading.take() {
                // A leader whose connection died (the broker dropped it, a node went away, or a
                // freeze outlived the heartbeat): another replica holds the lease now.
                logger.warning("job.lease_lost", metadata: ["event": "job.lease_lost", "reason": "\(reason)"])
            } else {
                logger.warning("job.lease_error", metadata: ["event": "job.lease_error", "error": "\(reason)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }

    /// One connection's worth of competing and leading. Returns or throws when the connection
    /// ends or the service shuts down; the lease is then given back.
    private func lead(_ job: ScheduledJob, metrics: JobMetrics, logger: Logger, leading: LeadershipFlag) async throws {
        let amqp = try await connection.connection()
        let queue = Self.leaseQueue(namespace, job.name)
        _ = try await amqp.declareQueue(queue, arguments: ["x-queue-type": "quorum", "x-single-active-consumer": true])
        if case .publishTick(let workQueue) = job.action {
            let exchange = Self.tickExchange(namespace)
            try await amqp.declareExchange(exchange, type: "direct")
            try await amqp.bindQueue(queue, exchange: exchange, routingKey: job.name)
            try await amqp.bindQueue(workQueue, exchange: exchange, routingKey: job.name)
        }
        // A seed token, so that a job's first replica ever has a lease to take. Extra seeds
        // are merged away by the leader.
        let seed = LeaseToken.message(job: job.name, tick: nil)
        try await amqp.publish(routingKey: queue, properties: seed.properties, body: seed.body)
        let consumer = try await amqp.consume(queue: queue, prefetch: 100)
        let tokens = SharedTokens()
        let (changes, notify) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

        defer {
            // Give the lease back: requeued tokens go to the next active consumer at once.
            for tag in tokens.withLock({ $0.release() }) { amqp.nack(tag, requeue: true) }
            metrics.isLeader(false)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await delivery in consumer.deliveries {
                    let tick = LeaseToken.tick(of: delivery.properties)
                    tokens.withLock { $0.received(tag: delivery.deliveryTag, tick: tick) }
                    notify.yield()
                }
                throw AMQPError.connectionClosedByClient
            }
            group.addTask {
                try await self.schedule(job, on: amqp, tokens: tokens, changes: changes, metrics: metrics, logger: logger, leading: leading)
            }
            try await group.next()
            group.cancelAll()
        }
        try? await amqp.cancel(consumerTag: consumer.tag)
    }

    /// The leader's loop: waits for the lease, then runs each due tick and records it.
    private func schedule(
        _ job: ScheduledJob, on amqp: AMQPConnection, tokens: SharedTokens, changes: AsyncStream<Void>,
        metrics: JobMetrics, logger: Logger, leading: LeadershipFlag
    ) async throws {
        var iterator = changes.makeAsyncIterator()
        while !tokens.withLock({ $0.isLeader }) {
            guard await iterator.next() != nil else { return }
        }
        metrics.isLeader(true)
        leading.set()
        // A job that never ran has no recorded tick: it starts with the ticks after this
        // moment (no history means nothing was missed).
        let acquiredAt = WallClock.nowMilliseconds() / 1000
        logger.info("job.lease_acquired", metadata: ["event": "job.lease_acquired", "schedule": "\(job.schedule)"])
        try await withThrowingTaskGroup(of: Void.self) { runs in
            while true {
                // Fencing: a round trip on the lease connection proves it is still alive, hence
                // that this replica is still the active consumer, before it plans, logs or runs
                // anything. A leader frozen past the heartbeat timeout fails here when it wakes
                // (the broker closed its connection and gave the lease to another replica).
                _ = try await amqp.inspectQueue(Self.leaseQueue(namespace, job.name))
                for tag in tokens.withLock({ $0.surplus() }) { amqp.ack(tag) }
                let nowMs = WallClock.nowMilliseconds()
                let plan = TickPlan(schedule: job.schedule, policy: job.missedTicks, lastCompleted: tokens.withLock { $0.lastCompleted } ?? acquiredAt,
                                    now: nowMs / 1000, grace: grace, catchUpLimit: job.catchUpLimit)
                if plan.skippedCount > 0 {
                    metrics.skipped(plan.skippedCount)
                    logger.warning("job.skipped", metadata: ["event": "job.skipped",
                        "reason": "\(plan.skipped.first?.reason.rawValue ?? "missed")", "count": "\(plan.skippedCount)",
                        "ticks": "\(plan.skipped.map { CivilTime(epochSeconds: $0.tick).description }.joined(separator: ","))",
                    ])
                    // Record the newest skipped tick so that the next leader does not skip it again.
                    if plan.run.isEmpty, let newest = plan.skipped.map(\.tick).max() {
                        try await record(job, tick: newest, on: amqp, tokens: tokens)
                    }
                }
                for tick in plan.run {
                    try await runTick(job, tick: tick, on: amqp, tokens: tokens, metrics: metrics, logger: logger,
                                      in: &runs)
                }
                // A tick recorded here or by a merged token moves the plan: wait for the next
                // tick, or wake earlier when tokens change (a merge may reveal a newer tick).
                guard let next = plan.next else { return }
                try await WallClock.sleep(untilEpochSeconds: next)
            }
        }
    }

    private func runTick(
        _ job: ScheduledJob, tick: Int64, on amqp: AMQPConnection, tokens: SharedTokens, metrics: JobMetrics,
        logger: Logger, in runs: inout ThrowingTaskGroup<Void, Error>
    ) async throws {
        let tickTime = CivilTime(epochSeconds: tick).description
        var runLogger = logger
        runLogger[metadataKey: "tick"] = "\(tickTime)"
        let startMs = WallClock.nowMilliseconds()
        metrics.started(lagMilliseconds: startMs - tick * 1000)
        switch job.action {
        case .publishTick:
            // One routed message is both the work item and the new lease token: recording
            // and publishing cannot come apart. A leader whose connection the broker has
            // closed gets no confirm, so it publishes nothing (fencing).
            var (properties, body) = LeaseToken.message(job: job.name, tick: tick)
            properties.messageID = "\(job.name)@\(tickTime)"
            runLogger.info("job.started", metadata: ["event": "job.started", "lag_ms": "\(startMs - tick * 1000)"])
            try await amqp.publish(exchange: Self.tickExchange(namespace), routingKey: job.name, properties: properties, body: body)
            for tag in tokens.withLock({ $0.recorded(tick) }) { amqp.ack(tag) }
            let endMs = WallClock.nowMilliseconds()
            metrics.completed(atMilliseconds: endMs)
            runLogger.info("job.completed", metadata: ["event": "job.completed", "duration_ms": "\(endMs - startMs)"])
        case .work(let work):
            runLogger.info("job.started", metadata: ["event": "job.started", "lag_ms": "\(startMs - tick * 1000)"])
            let context = JobContext(job: job.name, tick: tick, tickTime: tickTime, logger: runLogger)
            let runLogger = runLogger
            let perform: @Sendable () async throws -> Void = {
                do {
                    try await work.run(context)
                    let endMs = WallClock.nowMilliseconds()
                    metrics.completed(atMilliseconds: endMs)
                    runLogger.info("job.completed", metadata: ["event": "job.completed", "duration_ms": "\(endMs - startMs)"])
                } catch {
                    metrics.failedRun()
                    let cancelled = Task.isCancelled
                    runLogger.error("job.failed", metadata: [
                        "event": "job.failed", "error": "\(cancelled ? "cancelled by the shutdown" : "\(error)")",
                        "duration_ms": "\(WallClock.nowMilliseconds() - startMs)",
                    ])
                    // A run cut short by the shutdown did not do its work: leave its tick
                    // unrecorded, so the next leader treats it as missed (per the policy).
                    if cancelled { return }
                }
                try await self.record(job, tick: tick, on: amqp, tokens: tokens)
            }
            if job.allowsOverlap {
                runs.addTask(operation: perform)
                return
            }
            try await perform()
            // Ticks that came while this run went on are skipped, not run late: the next run
            // starts at the next tick after it ended.
            try await skipOverlapped(job, after: max(tick, startMs / 1000), on: amqp, tokens: tokens, metrics: metrics, logger: logger)
        }
    }

    private func skipOverlapped(
        _ job: ScheduledJob, after start: Int64, on amqp: AMQPConnection, tokens: SharedTokens, metrics: JobMetrics, logger: Logger
    ) async throws {
        let now = WallClock.nowMilliseconds() / 1000
        var overlapped: [Int64] = []
        var count = 0
        var cursor = start
        while let tick = job.schedule.nextTick(after: cursor), tick <= now {
            count += 1
            if overlapped.count < TickPlan.reportLimit { overlapped.append(tick) }
            cursor = tick
        }
        guard count > 0 else { return }
        metrics.skipped(count)
        logger.warning("job.skipped", metadata: [
            "event": "job.skipped", "reason": "overlap", "count": "\(count)",
            "ticks": "\(overlapped.map { CivilTime(epochSeconds: $0).description }.joined(separator: ","))",
        ])
        try await record(job, tick: cursor, on: amqp, tokens: tokens)
    }

    /// Publishes a token for `tick` to the lease queue, waits for the confirm, then acks the
    /// older tokens.
    private func record(_ job: ScheduledJob, tick: Int64, on amqp: AMQPConnection, tokens: SharedTokens) async throws {
        guard (tokens.withLock { $0.lastCompleted } ?? Int64.min) < tick else { return }
        let token = LeaseToken.message(job: job.name, tick: tick)
        try await amqp.publish(routingKey: Self.leaseQueue(namespace, job.name), properties: token.properties, body: token.body)
        for tag in tokens.withLock({ $0.recorded(tick) }) { amqp.ack(tag) }
    }
}

/// The lease tokens of one connection's leadership, shared by its reader and scheduler tasks.
final class SharedTokens: Sendable {
    private let tokens = Mutex(LeaseTokens())
    func withLock<T>(_ body: (inout LeaseTokens) -> T) -> T { tokens.withLock { body(&$0) } }
}

/// Whether this replica led the job on the connection that just ended: decides between
/// `job.lease_lost` and `job.lease_error`.
final class LeadershipFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    /// The value, reset to false.
    func take() -> Bool { value.withLock { value in defer { value = false }; return value } }
}
