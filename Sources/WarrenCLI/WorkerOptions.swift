import ArgumentParser
import Warren

/// The settings of `warren worker`, as flags; `warren config` takes the same ones. Kept as strings
/// so that Warren's own validation reports the offending key the same way for flags,
/// environment variables and the configuration file.
struct WorkerOptions: ParsableArguments {
    @OptionGroup var broker: BrokerOptions

    @Option(help: "basic.qos prefetch, 1-65535 (env WARREN_PREFETCH; default 50).")
    var prefetch: String?

    @Option(help: "Handlers running at once, 1-10000 (env WARREN_CONCURRENCY; default 8).")
    var concurrency: String?

    @Option(name: .customLong("handler-thread"), help: "Where handlers run: pool (Swift's cooperative pool; default) or connection (the consuming connection's own thread: about half the CPU per message, for handlers that never block or compute for long) (env WARREN_HANDLER_THREAD).")
    var handlerThread: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env WARREN_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "json (one object per line) or text (env WARREN_LOG_FORMAT; default json, text when stdout is a terminal).")
    var logFormat: String?

    @Option(help: "Built-in handler: demo (default) or noop (acks everything; for benchmarks) (env WARREN_HANDLER).")
    var handler: String?

    @Option(name: .customLong("http-port"), help: "Port for /healthz and /readyz; 0 picks a free one (env WARREN_HTTP_PORT; default 8080).")
    var httpPort: String?

    @Option(help: "AMQP heartbeat, e.g. 30s; 0 disables (env WARREN_HEARTBEAT; default 30s).")
    var heartbeat: String?

    @Option(name: .customLong("reconnect-initial-delay"), help: "First reconnect backoff cap (env WARREN_RECONNECT_INITIAL_DELAY; default 500ms).")
    var reconnectInitialDelay: String?

    @Option(name: .customLong("reconnect-max-delay"), help: "Largest reconnect backoff cap (env WARREN_RECONNECT_MAX_DELAY; default 30s).")
    var reconnectMaxDelay: String?

    @Option(name: .customLong("shutdown-timeout"), help: "Longest drain on SIGTERM before running handlers are cancelled (env WARREN_SHUTDOWN_TIMEOUT; default 25s).")
    var shutdownTimeout: String?

    @Option(name: .customLong("handler-timeout"), help: "Longest a handler may run before it is cancelled and its message dead-lettered, e.g. 30s; 0 = no limit (env WARREN_HANDLER_TIMEOUT; default 0).")
    var handlerTimeout: String?

    @Option(name: .customLong("max-refused-attempts"), help: "Permanent refusals in a row (403, 404, 406, 530) before exiting 69 (env WARREN_MAX_REFUSED_ATTEMPTS; default 5).")
    var maxRefusedAttempts: String?

    @Option(name: .customLong("immediate-retries"), help: "In-process retries of a failed message before a delayed retry, 0-100 (env WARREN_IMMEDIATE_RETRIES; default 0).")
    var immediateRetries: String?

    @Option(name: .customLong("retry-delays"), help: "Delayed retries through Q.retry.<delay> queues, e.g. 1s,10s,1m; empty for none (env WARREN_RETRY_DELAYS; default 1s,10s,1m).")
    var retryDelays: String?

    @Option(name: .customLong("crash-limit"), help: "Crashes of the worker while a message is handled alone before it is dead-lettered as crash-loop, 0 = off (env WARREN_CRASH_LIMIT; default 3).")
    var crashLimit: String?

    @Option(name: .customLong("delivery-limit"), help: "Quorum queues: the broker's x-delivery-limit, 0 = not declared (env WARREN_DELIVERY_LIMIT; default 20).")
    var deliveryLimit: String?

    @Option(name: .customLong("bind"), help: ArgumentHelp("Bind the queue to an exchange, EXCHANGE=BINDING_KEY; repeatable, or comma-separated. Headers exchanges: EXCHANGE=?x-match=all&NAME=VALUE. Percent-encode , = ? & % inside names (env WARREN_BIND; default none).", valueName: "exchange=key"))
    var bind: [String] = []

    @Option(name: .customLong("exchange-type"), help: "Type of a bound exchange that does not exist yet, which Warren declares durable: topic, direct, fanout or headers; an existing one is used as it is (env WARREN_EXCHANGE_TYPE; default topic).")
    var exchangeType: String?

    @Flag(name: .customLong("existing-queue"), help: "Consume a queue declared elsewhere as it is: check it exists, never declare it; Q.dlx, Q.dead and Q.retry.* are still declared (env WARREN_EXISTING_QUEUE=true).")
    var existingQueue = false

    @Option(name: .customLong("schedule"), help: "A scheduled job NAME=SPEC (cron 'm h dom mon dow', @hourly/@daily/@weekly/@monthly, or '@every 5m'; UTC): once per tick across all replicas, a {\"job\",\"tick\"} message is published to the queue. Repeatable (env WARREN_SCHEDULE, ';'-separated).")
    var schedule: [String] = []

    @Option(name: .customLong("schedule-missed-ticks"), help: "Ticks no replica could run in time: skip, latest (run the newest once; default) or all (catch up, at most 10) (env WARREN_SCHEDULE_MISSED_TICKS).")
    var scheduleMissedTicks: String?

    /// Every flag given, by flag name (`prefetch`), repeatable ones joined as their variable is.
    var flags: [String: String] {
        var flags = broker.flags
        if !schedule.isEmpty { flags["schedule"] = schedule.joined(separator: ";") }
        flags["schedule-missed-ticks"] = scheduleMissedTicks
        flags["prefetch"] = prefetch
        flags["concurrency"] = concurrency
        flags["handler-thread"] = handlerThread
        flags["log-level"] = logLevel
        flags["log-format"] = logFormat
        flags["handler"] = handler
        flags["http-port"] = httpPort
        flags["heartbeat"] = heartbeat
        flags["reconnect-initial-delay"] = reconnectInitialDelay
        flags["reconnect-max-delay"] = reconnectMaxDelay
        flags["shutdown-timeout"] = shutdownTimeout
        flags["max-refused-attempts"] = maxRefusedAttempts
        flags["handler-timeout"] = handlerTimeout
        flags["immediate-retries"] = immediateRetries
        flags["retry-delays"] = retryDelays
        flags["crash-limit"] = crashLimit
        flags["delivery-limit"] = deliveryLimit
        if !bind.isEmpty { flags["bind"] = bind.joined(separator: ",") }
        flags["exchange-type"] = exchangeType
        if existingQueue { flags["existing-queue"] = "true" }
        return flags
    }

    /// The worker's configuration and built-in handler from these flags, the environment and
    /// the configuration file, with the resolver they came from; a bad value is reported on
    /// stderr and thrown as exit 78.
    func resolved() throws -> (WorkerConfiguration, BuiltInHandler, SettingsResolver) {
        do {
            let settings = try broker.settings(adding: flags)
            return (try WorkerConfiguration(resolving: settings), try settings.choice("handler", default: BuiltInHandler.demo), settings)
        } catch let error as ConfigurationError {
            throw configurationFailure(error)
        }
    }
}
