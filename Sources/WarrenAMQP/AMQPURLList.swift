/// A comma-separated list of AMQP URLs, one per cluster node, each with its own host, port,
/// credentials and query parameters: `amqp://u:p@h1/,amqp://u:p@h2/`.
///
/// The list is split at each comma that is followed (after optional spaces) by `amqp://` or
/// `amqps://` (any case), and nowhere else: a comma inside a password or vhost needs no encoding
/// unless it is followed by `amqp://` (write it `%2C`). Splitting anywhere else (at `,,`, say)
/// could cut a password in two and show its first half as the next entry's vhost. An empty
/// entry (a leading comma) or a trailing comma is an error. Error texts and `redacted` never show
/// a password.
public struct AMQPURLList: Sendable, Equatable, CustomStringConvertible {
    /// At least one URL, in the order given.
    public private(set) var urls: [AMQPURL]

    /// Parses every URL; throws an `AMQPError` with code `.invalidURL` naming which entry is wrong and why,
    /// never quoting it.
    public init(_ text: String) throws {
        // Checked on the whole text, not by splitting there: see the type's comment.
        guard !text.trimmingTrailingSpaces().hasSuffix(",") else {
            throw AMQPError.invalidURL("a trailing comma; separate URLs with single commas")
        }
        let items = Self.split(text)
        var urls: [AMQPURL] = []
        for (index, item) in items.enumerated() {
            let which = items.count > 1 ? "URL \(index + 1) of \(items.count): " : ""
            guard !item.isEmpty else { throw AMQPError.invalidURL("\(which)empty; separate URLs with single commas") }
            do {
                urls.append(try AMQPURL(String(item)))
            } catch let error as AMQPError {
                guard case .invalidURL(let reason) = error.kind else { throw error }
                throw AMQPError.invalidURL(which + reason)
            }
        }
        self.urls = urls
    }

    /// A list of the given URLs; `urls` must not be empty.
    public init(_ urls: [AMQPURL]) {
        precondition(!urls.isEmpty, "an AMQPURLList needs at least one URL")
        self.urls = urls
    }

    /// The first URL as given (what a single-URL configuration means by "the URL").
    public var first: AMQPURL {
        get { urls[0] }
        set { urls[0] = newValue }
    }

    /// Sets every URL's password (`WARREN_AMQP_PASSWORD` applies to the whole cluster).
    public mutating func setPassword(_ password: String) {
        for index in urls.indices { urls[index].password = password }
    }

    /// Every URL redacted, comma-separated: the only form of the list that may reach logs.
    public var redacted: String { urls.map(\.redacted).joined(separator: ",") }

    /// `redacted`: no password reaches logs through string interpolation.
    public var description: String { redacted }

    /// The URLs in the order a process tries them: as given when `shuffled` is false, otherwise
    /// a permutation determined by `seed` alone (pure, so tests pin it). A process draws its
    /// seed once, so replicas given the same list spread over the nodes.
    public func ordered(shuffled: Bool, seed: UInt64) -> [AMQPURL] {
        guard shuffled else { return urls }
        var generator = SplitMix64(seed: seed)
        var order = urls
        // Fisher–Yates with our own generator: `shuffle(using:)`'s algorithm is not promised to
        // stay the same across Swift versions, and a pinned seed must give a pinned order.
        for index in stride(from: order.count - 1, to: 0, by: -1) {
            let other = Int(generator.next() % UInt64(index + 1))
            order.swapAt(index, other)
        }
        return order
    }

    /// Drawn once per process: every connection of a process tries the nodes in the same order
    /// (`ordered(shuffled: true, seed: processSeed)`), and each process in its own.
    public static let processSeed = UInt64.random(in: .min ... .max)

    /// The order this process tries the URLs in: `ordered(shuffled:seed:)` with `processSeed`.
    public func processOrder(shuffled: Bool) -> [AMQPURL] {
        ordered(shuffled: shuffled, seed: Self.processSeed)
    }

    /// The entries of a list's text, trimmed of spaces; see the type's comment for the rule.
    public static func split(_ text: String) -> [Substring] {
        var items: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        while let comma = text[index...].firstIndex(of: ",") {
            let next = text.index(after: comma)
            if startsWithAMQPScheme(text[next...].drop { $0 == " " }) {
                items.append(text[start..<comma])
                start = next
            }
            index = next
        }
        items.append(text[start...])
        return items.map { $0.trimmingSpaces() }
    }

    /// Any text that may hold one URL or a list, as it may be shown in an error message: each
    /// entry redacted by `AMQPURL.redact`.
    public static func redact(_ text: String) -> String {
        split(text).map { AMQPURL.redact(String($0)) }.joined(separator: ",")
    }

    private static func startsWithAMQPScheme(_ text: Substring) -> Bool {
        let lowered = text.prefix(8).lowercased()
        return lowered.hasPrefix("amqp://") || lowered.hasPrefix("amqps://")
    }
}

extension StringProtocol {
    fileprivate func trimmingTrailingSpaces() -> SubSequence {
        var text = self[...]
        while text.last == " " { text = text.dropLast() }
        return text
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
