import Logging
import ServiceLifecycle
import Synchronization
import Tracing
import WarrenAMQP

/// A queue consumer as a swift-service-lifecycle `Service`: put it in any `ServiceGroup`,
/// beside an HTTP server or other consumers.
///
/// ```swift
/// let consumer = WarrenConsumer(
///     configuration: ConsumerConfiguration(queue: "orders"),
///     connection: .dedicated(ConnectionConfiguration(url: try AMQPURL("amqp://localhost/"), connectionName: "orders")),
///     handler: OrderHandler(),
///     logger: logger)
/// let group = ServiceGroup(services: [consumer], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// `run()` opens the broker connection itself, on the connection's own thread, so nothing else
/// in the process waits on the broker. It declares the topology (`Topology`), sets prefetch and
/// consumes, running up to `concurrency` handlers at once on as many long-lived worker tasks
/// (`HandlerPool`), each taking one message at a time. A message is acked
/// only after its handler returned. A failed one is retried or dead-lettered under
/// `configuration.retryPolicy`, always by publishing a confirmed copy (to `Q.retry.<delay>` or
/// `Q.dlx`) before acking it (see `settle(failure:…)` for the at-least-once contract), and
/// logged once, as `message.retry_scheduled` or `message.dead_lettered`, with the error as the
/// reason. A delivery that arrives `redelivered` is a crash suspect: the `CrashGuard` records
/// each of its runs in the broker, makes one that was running at a crash run alone, and
/// dead-letters one that keeps crashing the process as `crash-loop`.
///
/// Connection life follows `ConnectionStateMachine`: transient failures (refused, reset, forced
/// close, missed heartbeats, broker restart, consumer cancelled by the broker) reconnect with
/// capped exponential backoff and full jitter and restore topology and consumer; permanent
/// refusals (403, 404, 406, 530) end `run()` with `WorkerFailure(.refused)` after
/// `maxRefusedAttempts` in a row. Handlers still running when their connection died finish, but
/// their result is logged as `message.abandoned`: their delivery tag is dead, the broker
/// redelivers the message.
///
/// On graceful shutdown it drains: `basic.cancel` so no new deliveries start, running handlers
/// finish and are acked, prefetched-but-unstarted deliveries are given back (republished to `Q`
/// with a confirm, then acked, so they do not return `redelivered` and become suspects; see
/// `returnUnstarted`), then a dedicated connection closes and `run()` returns. If the
/// drain outlasts `shutdownTimeout`, or the task is cancelled (a second signal), running
/// handlers are cancelled and their messages left unacked for redelivery.
///
/// `status` reflects every state change for readiness probes; `ConsumerMetrics` lists the
/// metrics it records (through swift-metrics: bootstrap a backend before creating consumers).
///
/// Tracing: with a tracer bootstrapped (swift-distributed-tracing) before `run()`, each message
/// is handled inside a consumer span `process <queue>` whose parent is the context the
/// publisher put in the headers (W3C `traceparent` with an OpenTelemetry tracer). The span
/// carries the messaging semantic-convention attributes (`messaging.system` = `rabbitmq`,
/// `messaging.operation.type` = `process`, `messaging.destination.name` = the exchange,
/// `messaging.destination.subscription.name` = the queue, routing key, delivery tag, message
/// id, conversation id, body size, `server.address`/`server.port`), plus `warren.attempt`,
/// `warren.redelivered` and `warren.outcome` (`acked`, `dead_lettered`, `abandoned`); a failed
/// message's span records the error, sets `error.type` and ends with status error. The span is
/// the task-local `ServiceContext.current` while the handler runs, so the handler's own spans
/// and `MessageContext.publish` nest under it. With no tracer (the default), none of this runs.
///
/// Where the code is: this file holds the service shell (`run()`, the drain deadline);
/// `WarrenConsumer+Supervisor` the connection life driven by `ConnectionStateMachine`;
/// `+DeliveryLoop` where each delivery runs (beside others, alone under the crash guard, or
/// given back during a drain); `+Workers` and `HandlerPool` the worker tasks that run them;
/// `+MessageRunner` one message's handler run and outcome;
/// `+Settlement` the copies of failed messages; `+Tracing` the consumer span.
///
/// - Important: `run()` must be called once, from the group; handlers run on worker tasks that
///   are children of it on Swift's cooperative pool, and every librabbitmq call on the
///   connection's owner thread.
public final class WarrenConsumer: Service {
    /// What it consumes and how (queue, prefetch, concurrency, timeouts).
    public let configuration: ConsumerConfiguration
    let connection: WarrenConnection
    let ownsConnection: Bool
    /// Warren's own publishing connection (name suffixed `/publish`): retry and dead-letter
    /// copies, drain give-backs and crash markers. Always the consumer's own, opened on first
    /// use, and never shared with handlers: a handler's bad publish (to a missing exchange)
    /// closes the connection it was sent on and fails every confirm pending there, and must not
    /// fail another message's copy.
    let publisher: WarrenConnection
    /// Where `MessageContext.publish` sends handlers' follow-up messages: the one given to
    /// `init`, or the consumer's own (name suffixed `/follow-ups`).
    let followUpPublisher: WarrenConnection
    private let ownsFollowUpPublisher: Bool
    let processing: MessageProcessing
    let logger: Logger
    let metrics: ConsumerMetrics
    /// Crash-loop detection for redelivered messages; `nil` when `crashLimit` is off.
    let crashGuard: CrashGuard?
    /// What this consumer is doing, for readiness probes (`HealthServer`).
    public let status: WorkerStatus
    /// Set by the first ack on a connection, so the supervisor can tell a connection that did
    /// work from one refused at once (see `ConnectionStateMachine.progressed()`).
    let madeProgress = Atomic<Bool>(false)
    /// Handlers running right now (a slot taken for crash-guard bookkeeping is not one): a
    /// delivery loop stuck while this is 0 is a stall (see `FlowMonitor`).
    let handlersRunning = Atomic<Int>(0)
    /// Each consuming connection's settlement pipeline (failed messages' copies in flight).
    let settlementPipelines = SettlementPipelines()

    /// A consumer running one `MessageHandler` for every message.
    ///
    /// - Parameters:
    ///   - configuration: the queue, its topology, prefetch, concurrency, retries and timeouts.
    ///   - connection: its own connection (`.dedicated`) or one shared with others (`.shared`).
    ///   - publisher: where `MessageContext.publish` sends follow-up messages. By default a
    ///     connection of the consumer's own (same broker, name suffixed `/follow-ups`), opened
    ///     on the first publish and closed when the consumer stops. Warren's own copies (retries,
    ///     dead letters) never go there: they use a separate connection (suffixed `/publish`), so
    ///     a handler's failed publish cannot fail them.
    ///   - handler: called for every message, concurrently up to the configured concurrency.
    ///   - status: what the consumer is doing, for readiness probes.
    ///   - logger: used for every line the consumer and its handlers log.
    public convenience init(
        configuration: ConsumerConfiguration, connection: ConsumerConnection, handler: some MessageHandler,
        publisher: WarrenConnection? = nil, status: WorkerStatus = WorkerStatus(), logger: Logger
    ) {
        self.init(configuration: configuration, connection: connection, handlerFactory: SharedHandlerFactory(handler: handler),
                  publisher: publisher, status: status, logger: logger)
    }

    /// A consumer that builds a fresh handler, with its own resources, for every message and
    /// tears it down after the outcome (see `MessageHandlerFactory`).
    public init(
        configuration: ConsumerConfiguration, connection: ConsumerConnection, handlerFactory: some MessageHandlerFactory,
        publisher: WarrenConnection? = nil, status: WorkerStatus = WorkerStatus(), logger: Logger
    ) {
        self.configuration = configuration
        switch connection {
        case .dedicated(let settings):
            self.connection = WarrenConnection(settings, logger: logger)
            ownsConnection = true
        case .shared(let shared):
            self.connection = shared
            ownsConnection = false
        }
        let settings = self.connection.configuration
        self.publisher = WarrenConnection(settings.named(settings.connectionName + "/publish"), logger: logger)
        if let publisher {
            followUpPublisher = publisher
            ownsFollowUpPublisher = false
        } else {
            followUpPublisher = WarrenConnection(settings.named(settings.connectionName + "/follow-ups"), logger: logger)
            ownsFollowUpPublisher = true
        }
        processing = MessageProcessing(handlerFactory, timeout: configuration.handlerTimeout)
        self.logger = logger
        self.status = status
        metrics = ConsumerMetrics(queue: configuration.queue, nodes: settings.urls.urls.map { BrokerNode(url: $0, serverProperties: [:]).address },
                                 concurrency: configuration.concurrency)
        let publisher = self.publisher
        crashGuard = configuration.crashLimit.map { CrashGuard(queue: configuration.queue, limit: $0, publisher: publisher) }
    }

    /// Consumes until the group shuts down gracefully (then drains and returns) or the consumer
    /// stops for good (throws `WorkerFailure`). Closes the connections the consumer owns on every
    /// path out; a shared connection stays open.
    public func run() async throws {
        do {
            try await runUntilStopped()
        } catch {
            await closeOwnedConnections()
            throw error
        }
        await closeOwnedConnections()
    }

    private func closeOwnedConnections() async {
        if ownsConnection { await connection.close() }
        await publisher.close()
        if ownsFollowUpPublisher { await followUpPublisher.close() }
    }

    private func runUntilStopped() async throws {
        let deadline = DrainDeadline()
        // The drain deadline is the consumer's own: when it passes, only the consumer's work is
        // cancelled (handlers left unacked for redelivery), and the rest of the group — the HTTP
        // server answering "draining" — still shuts down gracefully afterwards.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.supervise(deadline: deadline) }
            group.addTask {
                guard (try? await gracefulShutdown()) != nil else { return }
                guard (try? await Task.sleep(for: self.configuration.shutdownTimeout)) != nil else { return }
                deadline.pass()
                // Returning ends the race below, which cancels the supervisor.
            }
            // Whichever ends first: the supervisor (stopped or failed) or the deadline.
            do {
                try await group.next()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
            // The supervisor unwinds its cancelled handlers, closes the connection and returns.
            while !group.isEmpty { try await group.next() }
        }
    }

    func abandoned(_ counts: DrainCounts, span: (any Span)?) {
        counts.abandoned()
        metrics.abandoned.increment()
        span?.attributes["warren.outcome"] = "abandoned"
    }

    /// Reduces an error to what the state machine needs: its text and whether retrying can help.
    static func failure(_ error: Error) -> ConnectionStateMachine.Failure {
        if let error = error as? AMQPError {
            return ConnectionStateMachine.Failure("\(error)", isPermanent: error.isPermanent)
        }
        if let error = error as? AMQPClusterConnectError {
            return ConnectionStateMachine.Failure("\(error)", isPermanent: error.isPermanent)
        }
        return ConnectionStateMachine.Failure("\(error)", isPermanent: false)
    }
}
