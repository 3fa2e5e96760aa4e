/// The type Warren declares an exchange with when a binding names one that does not exist yet
/// (`--exchange-type`, `WARREN_EXCHANGE_TYPE`). An exchange that exists is used as it is,
/// whatever its type.
public enum ExchangeType: String, Sendable, CaseIterable {
    /// Routes by pattern: `*` matches one dot-separated word, `#` zero or more.
    case topic
    /// Routes when the routing key equals the binding key.
    case direct
    /// Routes every message to every bound queue; the binding key is ignored.
    case fanout
    /// Routes by message headers; the binding's arguments say which (see `QueueBinding`).
    case headers
}
