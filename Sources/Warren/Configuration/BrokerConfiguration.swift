import WarrenAMQP

/// Where the broker is and which queue Warren works on; shared by `warren worker` and
/// `warren publish`.
public struct BrokerConfiguration: Sendable, Equatable {
    /// The URL used when `WARREN_AMQP_URL` / `--amqp-url` is not set: a local broker's default
    /// `guest` account (which RabbitMQ accepts only from localhost).
    public static let defaultURL = "amqp://guest:guest@127.0.0.1:5672/"

    /// The broker's nodes, one URL each (`WARREN_AMQP_URL` may be a comma-separated list).
    public var urls: AMQPURLList
    /// Whether a process tries `urls` in its own shuffled order (`WARREN_AMQP_SHUFFLE`, default
    /// true) so replicas spread over the nodes; see `AMQPURLList.ordered(shuffled:seed:)`.
    public var shuffle: Bool
    /// The queue Warren consumes from (`WARREN_QUEUE`, default `warren.jobs`); also the prefix of
    /// its `.dlx`, `.dead` and `.retry.<delay>` companions (see `Topology`).
    public var queue: String
    /// The type `queue` and its companions are declared with (`WARREN_QUEUE_TYPE`, default quorum).
    public var queueType: QueueType
    /// TLS settings for `amqps://` URLs (`WARREN_TLS_*`; see `SettingsResolver.tls()`).
    public var tls = TLSConfiguration()

    /// The list's first URL, as given.
    public var url: AMQPURL {
        get { urls.first }
        set { urls.first = newValue }
    }

    /// The nodes in the order this process tries them (see `shuffle`).
    public var orderedURLs: [AMQPURL] { urls.processOrder(shuffled: shuffle) }

    /// A single-node broker at `url`, with the default TLS settings.
    public init(url: AMQPURL, queue: String, queueType: QueueType) {
        urls = AMQPURLList([url])
        shuffle = true
        self.queue = queue
        self.queueType = queueType
    }

    /// Reads `amqp-url`, `amqp-shuffle`, `amqp-password`, `queue`, `queue-type` and the
    /// `tls-*` settings; throws
    /// `ConfigurationError` naming the key.
    ///
    /// `WARREN_AMQP_PASSWORD` (or `WARREN_AMQP_PASSWORD_FILE`), when set, replaces the URL's
    /// password (every URL's, for a list), so the URL can live in plain configuration and the
    /// password in a secret.
    /// `WARREN_AMQP_URL_FILE` reads the whole URL from a secret file instead.
    public init(resolving settings: SettingsResolver) throws {
        urls = try settings.amqpURLs("amqp-url", default: Self.defaultURL)
        shuffle = try settings.boolean("amqp-shuffle", default: true)
        if let (password, _) = try settings.secret("amqp-password") {
            urls.setPassword(password)
        }
        queue = try settings.string("queue", default: "warren.jobs")
        // AMQP short strings: the queue name and its derived names (".dead") must fit 255 bytes.
        guard queue.utf8.count <= 250 else {
            throw ConfigurationError(key: try settings.raw("queue")!.key, value: String(queue.prefix(40)) + "…", problem: "must be at most 250 bytes")
        }
        guard !queue.hasPrefix("amq.") else {
            throw ConfigurationError(key: try settings.raw("queue")!.key, value: queue, problem: "the amq. prefix is reserved by RabbitMQ")
        }
        queueType = try settings.choice("queue-type", default: QueueType.quorum)
        tls = try settings.tls()
    }

    /// An `AMQPConnection`'s configuration for the tools (`warren publish`, `warren dlq`).
    public func amqp(connectionName: String) -> AMQPConnectionConfiguration {
        var configuration = AMQPConnectionConfiguration(url: url, connectionName: connectionName)
        configuration.tls = tls
        return configuration
    }
}
