import Foundation

/// A message to publish with pika, with the properties the library tests vary.
struct OutgoingMessage: Sendable {
    var id: String
    /// The body's bytes (may be anything, not only UTF-8).
    var body: [UInt8]
    /// `nil` publishes no `content_type` at all.
    var contentType: String? = "application/json"
    var contentEncoding: String?
    var correlationID: String?
    /// Header values are strings or integers (pika sends them as `S` / `I` or `l`).
    var headers: [String: OutgoingHeaderValue] = [:]
    /// Per-message TTL in milliseconds (the `expiration` property), or none.
    var expiration: String?

    init(
        id: String, body: String, contentType: String? = "application/json", contentEncoding: String? = nil,
        correlationID: String? = nil, headers: [String: OutgoingHeaderValue] = [:]
    ) {
        self.init(id: id, bytes: Array(body.utf8), contentType: contentType, contentEncoding: contentEncoding,
                  correlationID: correlationID, headers: headers)
    }

    init(
        id: String, bytes: [UInt8], contentType: String? = "application/json", contentEncoding: String? = nil,
        correlationID: String? = nil, headers: [String: OutgoingHeaderValue] = [:]
    ) {
        self.id = id
        self.body = bytes
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.correlationID = correlationID
        self.headers = headers
    }
}

enum OutgoingHeaderValue: Sendable {
    case string(String)
    case int(Int)

    var json: Any {
        switch self {
        case .string(let text): return text
        case .int(let value): return value
        }
    }
}

/// A message read back with pika (`basic_get`, auto-ack), with every field the library tests check.
struct InProcessFetched: Sendable, Decodable, CustomStringConvertible {
    let body_b64: String
    let message_id: String?
    let correlation_id: String?
    let content_type: String?
    let content_encoding: String?
    let delivery_mode: Int?
    let redelivered: Bool
    /// Every header's name, `x-death` included.
    let header_names: [String]
    /// Header values rendered as text, `x-death` left out (see `death_reason`).
    let headers: [String: String]
    let death_reason: String?

    var body: [UInt8] { Array(Data(base64Encoded: body_b64) ?? Data()) }
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    var description: String {
        "\(message_id ?? "-") corr \(correlation_id ?? "-") type \(content_type ?? "-") redelivered \(redelivered) "
            + "headers \(headers) death \(death_reason ?? "-") body \(bodyText.prefix(200))"
    }
}

/// One consumer as `rabbitmqctl list_consumers` shows it, with the connection its channel is on.
struct InProcessBrokerConsumer: Sendable, CustomStringConvertible {
    let queue: String
    let channelPID: String
    let prefetch: Int?
    /// The `connection_name` of the connection the consumer's channel belongs to.
    let connectionName: String?

    var description: String { "\(queue) on \(connectionName ?? "?") (\(channelPID)) prefetch \(prefetch.map(String.init) ?? "?")" }
}

extension Broker {
    /// Publishes with pika to the default exchange (routing key `queue`), persistent, mandatory,
    /// waiting for confirms, with each message's own properties.
    func pikaPublish(queue: String, _ messages: [OutgoingMessage]) async throws {
        let list: [[String: Any]] = messages.map { message in
            var entry: [String: Any] = ["id": message.id, "body_b64": Data(message.body).base64EncodedString()]
            if let contentType = message.contentType { entry["content_type"] = contentType }
            if let encoding = message.contentEncoding { entry["content_encoding"] = encoding }
            if let correlationID = message.correlationID { entry["correlation_id"] = correlationID }
            if !message.headers.isEmpty { entry["headers"] = message.headers.mapValues(\.json) }
            if let expiration = message.expiration { entry["expiration"] = expiration }
            return entry
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self)
        try await runToolChecked("python3", ["-c", Self.publishScript, env.amqpURL, queue, json], timeout: .seconds(30))
    }

    /// Takes up to `max` messages from `queue` with pika's `basic_get` (auto-ack).
    func pikaFetch(queue: String, max: Int) async throws -> [InProcessFetched] {
        try await pikaGet(queue: queue, [String(max)])
    }

    /// Reads every ready message of `queue` without acking, then closes, so the broker puts them
    /// all back: a look that changes nothing but their redelivered flag.
    func pikaBrowse(queue: String) async throws -> [InProcessFetched] {
        try await pikaGet(queue: queue, [String(Int32.max), "browse"])
    }

    private func pikaGet(queue: String, _ arguments: [String]) async throws -> [InProcessFetched] {
        let result = try await runToolChecked(
            "python3", ["-c", Self.getScript, env.amqpURL, queue] + arguments, timeout: .seconds(60))
        return try result.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(InProcessFetched.self, from: Data($0.utf8))
        }
    }

    /// Gets every ready message of `queue` without acking and returns them with
    /// `basic.nack(requeue: true)`: the broker then delivers them again flagged `redelivered`.
    /// Returns how many it returned.
    @discardableResult
    func pikaRequeueAll(queue: String) async throws -> Int {
        let result = try await runToolChecked(
            "python3", ["-c", Self.requeueScript, env.amqpURL, queue], timeout: .seconds(30))
        return Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Every consumer on the broker, each with the `connection_name` of its connection
    /// (`list_consumers` joined with `list_channels` and `list_connections`), and the
    /// `connection_name` of every connection.
    func inProcessConsumers() async throws -> (consumers: [InProcessBrokerConsumer], connectionNames: [String]) {
        let consumers = try await rabbitmqctl([
            "list_consumers", "--quiet", "--no-table-headers", "queue_name", "channel_pid", "prefetch_count",
        ])
        let channels = try await rabbitmqctl(["list_channels", "--quiet", "--no-table-headers", "pid", "connection"])
        var connectionOfChannel: [String: String] = [:]
        for line in channels.stdout.split(separator: "\n") {
            let columns = line.split(separator: "\t").map(String.init)
            if columns.count >= 2 { connectionOfChannel[columns[0]] = columns[1] }
        }
        let connections = try await listConnections()
        var nameOfConnection: [String: String] = [:]
        for connection in connections {
            nameOfConnection[connection.pid] = connection.connectionName
        }
        let list = consumers.stdout.split(separator: "\n").compactMap { line -> InProcessBrokerConsumer? in
            let columns = line.split(separator: "\t").map(String.init)
            guard columns.count >= 3 else { return nil }
            return InProcessBrokerConsumer(
                queue: columns[0], channelPID: columns[1], prefetch: Int(columns[2]),
                connectionName: connectionOfChannel[columns[1]].flatMap { nameOfConnection[$0] })
        }
        return (list, connections.compactMap(\.connectionName))
    }

    /// The `connection_name`s of every client connection on the broker.
    func connectionNames() async throws -> [String] {
        try await listConnections().compactMap(\.connectionName)
    }

    private static let publishScript = """
        import base64, json, sys, pika
        url, queue, messages = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        channel.confirm_delivery()
        for m in messages:
            channel.basic_publish(
                exchange='', routing_key=queue, body=base64.b64decode(m['body_b64']), mandatory=True,
                properties=pika.BasicProperties(
                    message_id=m['id'], delivery_mode=2, content_type=m.get('content_type'),
                    content_encoding=m.get('content_encoding'), correlation_id=m.get('correlation_id'),
                    headers=m.get('headers'), expiration=m.get('expiration')))
        connection.close()
        """

    private static let requeueScript = """
        import sys, pika
        connection = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
        channel = connection.channel()
        tags = []
        while True:
            method, properties, body = channel.basic_get(sys.argv[2], auto_ack=False)
            if method is None:
                break
            tags.append(method.delivery_tag)
        for tag in tags:
            channel.basic_nack(tag, requeue=True)
        connection.close()
        print(len(tags))
        """
}
