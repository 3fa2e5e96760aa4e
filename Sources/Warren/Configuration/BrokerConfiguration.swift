import WarrenAMQP

/// Where the broker is and which queue Warren works on; shared by `warren worker` and
/// `warren publish`.
public struct BrokerConfiguration: Sendable, Equatable {
    public static let defaultURL = "amqp://guest:guest@127.0.0.1:5672/"

    public var url: AMQPURL
    public var queue: String
    public var queueType: QueueType

    public init(url: AMQPURL, queue: String, queueType: QueueType) {
        self.url = url
        self.queue = queue
        self.queueType = queueType
    }

    /// Reads `amqp-url`, `amqp-password`, `queue` and `queue-type`; throws
    /// `ConfigurationError` naming the key.
    ///
    /// `WARREN_AMQP_PASSWORD` (or `WARREN_AMQP_PASSWORD_FILE`), when set, replaces the URL's
    /// password, so the URL can live in plain configuration and the password in a secret.
    /// `WARREN_AMQP_URL_FILE` reads the whole URL from a secret file instead.
    public init(resolving settings: SettingsResolver) throws {
        url = try settings.amqpURL("amqp-url", default: Self.defaultURL)
        if let (password, _) = try settings.secret("amqp-password") {
            url.password = password
        }
        queue = try settings.string("queue", default: "warren.jobs")
        // AMQP short strings: the queue name and its derived names (".dead") must fit 255 bytes.
        guard queue.utf8.count <= 250 else {
            throw ConfigurationError(key: settings.raw("queue")!.key, value: String(queue.prefix(40)) + "…", problem: "must be at most 250 bytes")
        }
        guard !queue.hasPrefix("amq.") else {
            throw ConfigurationError(key: settings.raw("queue")!.key, value: queue, problem: "the amq. prefix is reserved by RabbitMQ")
        }
        queueType = try settings.choice("queue-type", default: QueueType.quorum)
    }
}
