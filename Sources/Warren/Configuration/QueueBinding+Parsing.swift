import WarrenAMQP

extension QueueBinding {
    /// The longest exchange name, binding key or argument name AMQP can carry (a short string).
    static let maxNameBytes = 255

    /// Reads `--bind` / `WARREN_BIND`: comma-separated entries, each
    /// `EXCHANGE=BINDING_KEY[?NAME=VALUE&NAME=VALUE…]`.
    ///
    /// - The exchange name ends at the first `=`; the binding key (possibly empty: fanout,
    ///   headers) at the first `?`; what follows are the binding's arguments, for headers
    ///   exchanges: `x-match` (`all`, `any`, `all-with-x`, `any-with-x`) and the header values to
    ///   match, all strings.
    /// - Every part is percent-decoded after the split, so `%2C` (`,`), `%3D` (`=`), `%3F` (`?`),
    ///   `%26` (`&`) and `%25` (`%`) write those characters inside a name, key or value.
    /// - An empty text means no bindings; an empty entry, a missing `=`, an empty exchange name
    ///   (the default exchange cannot be bound), a name or key over 255 bytes, an argument
    ///   without `=` or given twice, and a bad `x-match` are errors naming the entry.
    ///
    /// ```
    /// orders=order.*.created,orders=order.*.cancelled,amq.fanout=
    /// documents=?x-match=any&format=pdf&format-version=2
    /// ```
    public static func parseList(_ text: String, exchangeType: ExchangeType) -> Result<[QueueBinding], BindingSyntaxError> {
        guard !text.allSatisfy({ $0 == " " }) else { return .success([]) }
        var bindings: [QueueBinding] = []
        for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = entry.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()
            switch parse(Substring(trimmed), exchangeType: exchangeType) {
            case .success(let binding): bindings.append(binding)
            case .failure(let problem): return .failure(BindingSyntaxError(entry: String(trimmed), problem: problem.problem))
            }
        }
        return .success(bindings)
    }

    private struct Problem: Error {
        var problem: String
        init(_ problem: String) { self.problem = problem }
    }

    private static func parse(_ entry: Substring, exchangeType: ExchangeType) -> Result<QueueBinding, Problem> {
        Result {
            guard !entry.isEmpty else { throw Problem("an empty entry: write EXCHANGE=BINDING_KEY") }
            guard let equals = entry.firstIndex(of: "=") else { throw Problem("must be EXCHANGE=BINDING_KEY") }
            let exchange = try decoded(entry[..<equals], "exchange name")
            guard !exchange.isEmpty else { throw Problem("names no exchange (the default exchange cannot be bound)") }
            var rest = entry[entry.index(after: equals)...]
            var arguments: AMQPTable = [:]
            if let question = rest.firstIndex(of: "?") {
                arguments = try parseArguments(rest[rest.index(after: question)...])
                rest = rest[..<question]
            }
            return QueueBinding(
                exchange: exchange, bindingKey: try decoded(rest, "binding key"), exchangeType: exchangeType, arguments: arguments)
        }.mapError { $0 as? Problem ?? Problem("\($0)") }
    }

    private static func parseArguments(_ text: Substring) throws -> AMQPTable {
        var arguments: AMQPTable = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: false) {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw Problem("binding argument '\(pair)' must be NAME=VALUE")
            }
            let name = try decoded(pair[..<equals], "argument name")
            guard arguments[name] == nil else { throw Problem("binding argument '\(name)' is given twice") }
            let value = try decoded(pair[pair.index(after: equals)...], "argument value", limit: nil)
            if name == "x-match", !["all", "any", "all-with-x", "any-with-x"].contains(value) {
                throw Problem("x-match must be all, any, all-with-x or any-with-x")
            }
            arguments[name] = .string(value)
        }
        return arguments
    }

    private static func decoded(_ text: Substring, _ part: String, limit: Int? = maxNameBytes) throws -> String {
        guard let value = AMQPURL.lenientlyDecoded(text) else { throw Problem("bad percent-encoding in the \(part)") }
        if let limit, value.utf8.count > limit { throw Problem("the \(part) is over \(limit) bytes") }
        return value
    }
}
