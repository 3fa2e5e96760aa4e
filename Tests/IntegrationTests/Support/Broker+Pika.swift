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

/// A message read back with pika's `basic_get` (`Broker.pikaGet`): every field any test checks.
/// Property names follow pika's JSON (snake case) so failure messages read like the broker's view.
struct PikaMessage: Sendable, Decodable, CustomStringConvertible {
    /// The body as text (invalid UTF-8 replaced); `bodyBytes` has it exactly.
    let body: String
    private let body_b64: String
    let message_id: String?
    let correlation_id: String?
    let content_type: String?
    let content_encoding: String?
    let delivery_mode: Int?
    let redelivered: Bool
    /// Every header's name, `x-death` included.
    let headerNames: [String]
    /// Every header but `x-death`, its value rendered as text (numbers as decimal).
    let headers: [String: String]
    /// `reason` and `queue` of the first `x-death` entry, set when the broker dead-lettered it.
    let death_reason: String?
    let death_queue: String?

    var bodyBytes: [UInt8] { Array(Data(base64Encoded: body_b64) ?? Data()) }

    var description: String {
        "\(message_id ?? "-") corr \(correlation_id ?? "-") type \(content_type ?? "-") redelivered \(redelivered) "
            + "headers \(headers) death \(death_reason ?? "-") body \(body.prefix(200))"
    }

    enum CodingKeys: String, CodingKey {
        case body, body_b64, message_id, correlation_id, content_type, content_encoding, delivery_mode, redelivered, headers
        case death_reason, death_queue
        case headerNames = "header_names"
    }
}

extension Broker {
    /// Publishes with pika to the default exchange (routing key `queue`): persistent,
    /// `application/json`, with the given `message_id`s, mandatory, waiting for confirms.
    func pikaPublish(queue: String, messages: [(id: String, body: String)]) async throws {
        try await pikaPublish(queue: queue, messages.map { OutgoingMessage(id: $0.id, body: $0.body) })
    }

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

    /// Takes up to `max` messages from `queue` with pika's `basic_get`: auto-ack, or with
    /// `browse` nothing is acked and closing the connection puts every message back (a look that
    /// changes nothing but their redelivered flag). The one way tests read a queue with pika.
    func pikaGet(queue: String, max: Int = Int(Int32.max), browse: Bool = false) async throws -> [PikaMessage] {
        let result = try await runToolChecked(
            "python3", ["-c", Self.getScript, env.amqpURL, queue, String(max)] + (browse ? ["browse"] : []),
            timeout: .seconds(60))
        return try result.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(PikaMessage.self, from: Data($0.utf8))
        }
    }

    /// Gets every ready message of `queue` without acking and returns them with
    /// `basic.nack(requeue: true)`: the broker then delivers them again flagged `redelivered`.
    /// Returns how many it returned.
    @discardableResult
    func pikaRequeueAll(queue: String) async throws -> Int {
        try await pikaNackAll(queue: queue, requeue: true)
    }

    /// Gets every ready message of `queue` without acking and rejects them with
    /// `basic.nack(requeue: false)`: the broker dead-letters them through the queue's
    /// `x-dead-letter-exchange`. It moves messages between queues without publishing, so it
    /// works under a memory alarm, which blocks only connections that publish. Returns how many.
    @discardableResult
    func pikaDeadLetterAll(queue: String) async throws -> Int {
        try await pikaNackAll(queue: queue, requeue: false)
    }

    private func pikaNackAll(queue: String, requeue: Bool) async throws -> Int {
        let result = try await runToolChecked(
            "python3", ["-c", Self.nackScript, env.amqpURL, queue, requeue ? "requeue" : "drop"], timeout: .seconds(30))
        return Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// `basic_get` of up to `limit` messages, one JSON object per line (a `PikaMessage`).
    /// Auto-ack, unless a fourth argument `browse` is given: then nothing is acked and closing
    /// the connection puts every message back.
    private static let getScript = """
        import base64, json, sys, pika
        url, queue, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
        browse = sys.argv[4:] == ['browse']
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        def text(value):
            return value.decode('utf-8', 'replace') if isinstance(value, bytes) else str(value)
        for _ in range(limit):
            method, properties, body = channel.basic_get(queue, auto_ack=not browse)
            if method is None:
                break
            headers = properties.headers or {}
            deaths = headers.get('x-death') or [{}]
            print(json.dumps({
                'body': body.decode('utf-8', 'replace'),
                'body_b64': base64.b64encode(body).decode(),
                'message_id': properties.message_id,
                'correlation_id': properties.correlation_id,
                'content_type': properties.content_type,
                'content_encoding': properties.content_encoding,
                'delivery_mode': properties.delivery_mode,
                'redelivered': bool(method.redelivered),
                'header_names': sorted(headers.keys()),
                'headers': {k: text(v) for k, v in headers.items() if k != 'x-death'},
                'death_reason': text(deaths[0]['reason']) if 'reason' in deaths[0] else None,
                'death_queue': text(deaths[0]['queue']) if 'queue' in deaths[0] else None,
            }))
        connection.close()
        """

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

    private static let nackScript = """
        import sys, pika
        requeue = sys.argv[3] == 'requeue'
        connection = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
        channel = connection.channel()
        tags = []
        while True:
            method, properties, body = channel.basic_get(sys.argv[2], auto_ack=False)
            if method is None:
                break
            tags.append(method.delivery_tag)
        for tag in tags:
            channel.basic_nack(tag, requeue=requeue)
        connection.close()
        print(len(tags))
        """
}
