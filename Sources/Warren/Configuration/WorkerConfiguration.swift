import Logging
import WarrenAMQP

/// Everything `warren worker` needs, validated. Build it with `init(resolving:)` at startup so
/// a bad value stops the process before it touches the broker.
///
/// | env | flag | default |
/// |---|---|---|
/// | WARREN_AMQP_URL | --amqp-url | amqp://guest:guest@127.0.0.1:5672/ |
/// | WARREN_QUEUE | --queue | warren.jobs |
/// | WARREN_QUEUE_TYPE | --queue-type | quorum |
/// | WARREN_PREFETCH | --prefetch | 50 |
/// | WARREN_CONCURRENCY | --concurrency | 8 |
/// | WARREN_HANDLER_THREAD | --handler-thread | pool (or connection) |
/// | WARREN_LOG_LEVEL | --log-level | info |
/// | WARREN_LOG_FORMAT | --log-format | json, or text when stdout is a terminal |
/// | WARREN_HTTP_PORT | --http-port | 8080 (0 = any free port) |
/// | WARREN_HEARTBEAT | --heartbeat | 30s (0 disables) |
/// | WARREN_RECONNECT_INITIAL_DELAY | --reconnect-initial-delay | 500ms |
/// | WARREN_RECONNECT_MAX_DELAY | --reconnect-max-delay | 30s |
/// | WARREN_SHUTDOWN_TIMEOUT | --shutdown-timeout | 25s |
/// | WARREN_MAX_REFUSED_ATTEMPTS | --max-refused-attempts | 5 |
/// | WARREN_HANDLER_TIMEOUT | --handler-timeout | 0 (off) |
/// | WARREN_IMMEDIATE_RETRIES | --immediate-retries | 0 |
/// | WARREN_RETRY_DELAYS | --retry-delays | 1s,10s,1m (empty: no delayed retries) |
/// | WARREN_CRASH_LIMIT | --crash-limit | 3 (0: no crash-loop detection) |
/// | WARREN_DELIVERY_LIMIT | --delivery-limit | 20 (quorum only; 0: not set) |
/// | WARREN_BIND | --bind (repeatable) | none (`EXCHANGE=BINDING_KEY`, comma-separated) |
/// | WARREN_EXCHANGE_TYPE | --exchange-type | topic (for exchanges Warren declares) |
/// | WARREN_EXISTING_QUEUE | --existing-queue | false |
/// | WARREN_SCHEDULE | --schedule (repeatable) | none; `NAME=SPEC`, `;`-separated in the env |
/// | WARREN_SCHEDULE_MISSED_TICKS | --schedule-missed-ticks | latest (skip, latest, all) |
/// | WARREN_TLS_CA_FILE | --tls-ca-file | the system trust store (`amqps://` only, as are the next) |
/// | WARREN_TLS_CERT_FILE | --tls-cert-file | none (client certificate for mutual TLS) |
/// | WARREN_TLS_KEY_FILE | --tls-key-file | none |
/// | WARREN_TLS_KEY_PASSWORD(_FILE) | | none (the key's passphrase; a secret) |
///
/// Programs that embed Warren read the same variables with `fromEnvironment()`, then take
/// `consumer` and `connection(named:)` to build a `WarrenConsumer`.
public struct WorkerConfiguration: Sendable, Equatable {
    /// The broker's URLs, TLS settings, queue and queue type.
    public var broker: BrokerConfiguration
    /// `basic.qos` prefetch: how many unacked deliveries the broker may send ahead.
    public var prefetch: UInt16
    /// How many handlers run at once.
    public var concurrency: Int
    /// Which thread runs the delivery loop and the handlers (see `HandlerThread`; default
    /// `.pool`).
    public var handlerThread: HandlerThread = .pool
    /// The least severe level logged (`WARREN_LOG_LEVEL`, default `info`).
    public var logLevel: Logger.Level
    /// JSON lines (for log shippers) or text (for people); see `WarrenLogging`.
    public var logFormat: LogFormat
    /// Port of the health/readiness HTTP server; 0 lets the kernel pick one (it is logged).
    public var httpPort: Int
    /// Requested AMQP heartbeat interval; `.zero` disables heartbeats.
    public var heartbeat: Duration
    /// Reconnect backoff: full jitter below a cap doubling from `initial` up to `maximum`.
    public var reconnectBackoff: Backoff
    /// How long a drain may take before running handlers are cancelled.
    public var shutdownTimeout: Duration
    /// Consecutive permanent refusals (403, 404, 406, 530) before the worker gives up.
    public var maxRefusedAttempts: Int
    /// Longest a handler may run before it is cancelled; `nil` never times out.
    public var handlerTimeout: Duration?
    /// In-process and delayed retries of failed messages.
    public var retryPolicy: RetryPolicy
    /// Isolated crashes before a message is dead-lettered as `crash-loop`; `nil`: off.
    public var crashLimit: Int?
    /// Quorum queues' `x-delivery-limit`; `nil`: not declared.
    public var deliveryLimit: Int?
    /// Exchanges the queue is bound to (`QueueBinding`).
    public var bindings: [QueueBinding] = []
    /// Consume a queue declared elsewhere, as it is (`Topology.existingQueue`).
    public var existingQueue = false
    /// Scheduled jobs whose ticks are published to the worker's own queue (`--schedule`).
    public var schedules: [ScheduledJobSetting] = []
    /// What those jobs do with ticks no replica could run in time.
    public var scheduleMissedTicks: MissedTickPolicy = .latest

    /// The settings given directly, with the defaults of the table above (the properties not
    /// among the parameters keep theirs), for programs that build their configuration in code.
    /// Nothing is validated: prefer `init(resolving:)` for values that come from outside.
    public init(
        broker: BrokerConfiguration, prefetch: UInt16 = 50, concurrency: Int = 8, logLevel: Logger.Level = .info,
        logFormat: LogFormat = .default, httpPort: Int = 8080, heartbeat: Duration = .seconds(30),
        reconnectBackoff: Backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30)),
        shutdownTimeout: Duration = .seconds(25), maxRefusedAttempts: Int = 5, handlerTimeout: Duration? = nil,
        retryPolicy: RetryPolicy = RetryPolicy(), crashLimit: Int? = ConsumerConfiguration.defaultCrashLimit,
        deliveryLimit: Int? = Topology.defaultDeliveryLimit
    ) {
        self.broker = broker
        self.prefetch = prefetch
        self.concurrency = concurrency
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.httpPort = httpPort
        self.heartbeat = heartbeat
        self.reconnectBackoff = reconnectBackoff
        self.shutdownTimeout = shutdownTimeout
        self.maxRefusedAttempts = maxRefusedAttempts
        self.handlerTimeout = handlerTimeout
        self.retryPolicy = retryPolicy
        self.crashLimit = crashLimit
        self.deliveryLimit = deliveryLimit
    }

    /// Reads every `WARREN_*` variable of the process environment (no flags); throws
    /// `ConfigurationError` naming the offending variable.
    ///
    /// - Parameters:
    ///   - environment: the variables to read (the process environment by default).
    ///   - defaults: the program's own defaults, by setting name (`["queue": "orders"]`),
    ///     used where the environment sets nothing; they are validated like any other value.
    public static func fromEnvironment(
        _ environment: [String: String] = SettingsResolver.processEnvironment(), defaults: [String: String] = [:]
    ) throws -> WorkerConfiguration {
        var environment = environment
        for (name, value) in defaults where environment[SettingsResolver.environmentName(name)] == nil {
            environment[SettingsResolver.environmentName(name)] = value
        }
        return try WorkerConfiguration(resolving: SettingsResolver(flags: [:], environment: environment))
    }

    /// The consumer's part: queue, prefetch, concurrency, timeouts and reconnect policy.
    public var consumer: ConsumerConfiguration {
        var consumer = ConsumerConfiguration(
            queue: broker.queue, queueType: broker.queueType, prefetch: prefetch, concurrency: concurrency,
            handlerTimeout: handlerTimeout, shutdownTimeout: shutdownTimeout, reconnectBackoff: reconnectBackoff,
            maxRefusedAttempts: maxRefusedAttempts, retryPolicy: retryPolicy, crashLimit: crashLimit, deliveryLimit: deliveryLimit,
            bindings: bindings, existingQueue: existingQueue)
        consumer.handlerThread = handlerThread
        return consumer
    }

    /// The connection's part, under the name the management UI will show; its connect attempts
    /// follow the same reconnect backoff as the consumer.
    public func connection(named name: String) -> ConnectionConfiguration {
        var connection = ConnectionConfiguration(urls: broker.urls, shuffle: broker.shuffle, connectionName: name, heartbeat: heartbeat, reconnectBackoff: reconnectBackoff)
        connection.tls = broker.tls
        return connection
    }

    /// Every setting by its flag name, for the startup log line: the AMQP URL with its password
    /// masked (this is the only form of the configuration that may be logged).
    public var loggedSettings: Logger.Metadata {
        [
            "amqp-url": "\(broker.urls.redacted)", "amqp-shuffle": "\(broker.shuffle)", "queue": "\(broker.queue)", "queue-type": "\(broker.queueType.rawValue)",
            "prefetch": "\(prefetch)", "concurrency": "\(concurrency)", "handler-thread": "\(handlerThread.rawValue)", "log-level": "\(logLevel)", "log-format": "\(logFormat.rawValue)",
            "http-port": "\(httpPort)", "heartbeat": "\(heartbeat)",
            "reconnect-initial-delay": "\(reconnectBackoff.initial)", "reconnect-max-delay": "\(reconnectBackoff.maximum)",
            "shutdown-timeout": "\(shutdownTimeout)", "max-refused-attempts": "\(maxRefusedAttempts)",
            "handler-timeout": "\(handlerTimeout.map { "\($0)" } ?? "off")",
            "immediate-retries": "\(retryPolicy.immediateRetries)",
            "retry-delays": "\(retryPolicy.delays.map { RetryPolicy.delayName($0) }.joined(separator: ","))",
            "crash-limit": "\(crashLimit.map(String.init) ?? "off")", "delivery-limit": "\(deliveryLimit.map(String.init) ?? "off")",
            "bind": "\(bindings.map { "\($0.exchange)=\($0.bindingKey)" }.joined(separator: ","))",
            "existing-queue": "\(existingQueue)",
            "schedule": "\(schedules.map { "\($0.name)=\($0.schedule)" }.joined(separator: ";"))",
            "schedule-missed-ticks": "\(scheduleMissedTicks.rawValue)",
            // Only where it applies: TLS settings beside plain amqp:// URLs would mislead.
            "tls": "\(broker.urls.urls.contains { $0.tls } ? "\(broker.tls)" : "off (no amqps:// URL)")",
        ]
    }

    /// `http-port` alone (0–65535, default 8080; 0 = any free port), for tools that only need to
    /// find the worker's health server (`warren healthcheck`).
    public static func httpPort(resolving settings: SettingsResolver) throws -> Int {
        try settings.integer("http-port", default: 8080, in: 0...65535)
    }

    /// Reads and validates every setting of the table above from `settings`. Throws the first
    /// `ConfigurationError` (naming the key; secrets redacted), so a bad value stops the process
    /// before it touches the broker.
    public init(resolving settings: SettingsResolver) throws {
        broker = try BrokerConfiguration(resolving: settings)
        prefetch = try settings.integer("prefetch", default: 50, in: 1...65535)
        concurrency = try settings.integer("concurrency", default: 8, in: 1...10_000)
        handlerThread = try settings.choice("handler-thread", default: HandlerThread.pool)
        logLevel = try settings.logLevel("log-level", default: .info)
        logFormat = try settings.choice("log-format", default: LogFormat.default)
        httpPort = try Self.httpPort(resolving: settings)
        // AMQP negotiates heartbeats in whole seconds.
        heartbeat = .seconds(try settings.duration("heartbeat", default: .seconds(30), in: .zero...(.seconds(3600))).components.seconds)
        let initial = try settings.duration("reconnect-initial-delay", default: .milliseconds(500), in: .milliseconds(10)...(.seconds(3600)))
        let maximum = try settings.duration("reconnect-max-delay", default: .seconds(30), in: .milliseconds(10)...(.seconds(3600)))
        guard maximum >= initial else {
            throw ConfigurationError(
                key: try settings.raw("reconnect-max-delay")?.key ?? settings.raw("reconnect-initial-delay")!.key,
                value: "\(maximum)", problem: "must not be below the reconnect initial delay (\(initial))")
        }
        reconnectBackoff = Backoff(initial: initial, maximum: maximum)
        shutdownTimeout = try settings.duration("shutdown-timeout", default: .seconds(25), in: .zero...(.seconds(3600)))
        maxRefusedAttempts = try settings.integer("max-refused-attempts", default: 5, in: 1...1000)
        let timeout = try settings.duration("handler-timeout", default: .zero, in: .zero...(.seconds(86_400)))
        handlerTimeout = timeout == .zero ? nil : timeout
        retryPolicy = try RetryPolicy(resolving: settings)
        let crashLimit = try settings.integer("crash-limit", default: ConsumerConfiguration.defaultCrashLimit, in: 0...1000)
        self.crashLimit = crashLimit == 0 ? nil : crashLimit
        deliveryLimit = try Topology.deliveryLimit(resolving: settings)
        bindings = try Topology.bindings(resolving: settings)
        existingQueue = try Topology.existingQueue(resolving: settings)
        if let (value, key) = try settings.raw("schedule", as: .list(separator: ";")) {
            do {
                schedules = try ScheduledJobSetting.list(parsing: value)
            } catch {
                throw ConfigurationError(key: key, value: value, problem: error.description)
            }
        }
        scheduleMissedTicks = try settings.choice("schedule-missed-ticks", default: MissedTickPolicy.latest)
    }
}
