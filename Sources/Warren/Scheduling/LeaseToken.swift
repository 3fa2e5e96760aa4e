import WarrenAMQP

/// The one message format of the scheduler: a lease token, and the built-in action's tick
/// message, which doubles as a token (see `JobScheduler`). The body is for people and for the
/// work queue's handler; the tick a token records travels in the `x-warren-tick` header.
enum LeaseToken {
    static let tickHeader = "x-warren-tick"

    /// Persistent JSON `{"job": NAME, "tick": "<RFC 3339>"}` with the tick in the header, or
    /// `"tick": null` and no header for a seed token (a job that never ran).
    static func message(job: String, tick: Int64?) -> (properties: AMQPProperties, body: [UInt8]) {
        var properties = AMQPProperties(contentType: "application/json", deliveryMode: 2)
        guard let tick else { return (properties, Array(#"{"job":"\#(job)","tick":null}"#.utf8)) }
        properties.headers = [tickHeader: .int(tick)]
        return (properties, Array(#"{"job":"\#(job)","tick":"\#(CivilTime(epochSeconds: tick))"}"#.utf8))
    }

    /// The tick a delivered token records; `nil` for a seed.
    static func tick(of properties: AMQPProperties) -> Int64? {
        if case .int(let value)? = properties.headers?[tickHeader] { value } else { nil }
    }
}
