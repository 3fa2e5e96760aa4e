/// Where a `WarrenConsumer` gets its broker connection.
public enum ConsumerConnection: Sendable {
    /// A connection of the consumer's own, opened when it starts and closed when it stops.
    case dedicated(ConnectionConfiguration)
    /// A connection shared with other consumers or publishers. The consumer never closes it:
    /// run the `WarrenConnection` as a service of the same group (listed before the consumers)
    /// or close it yourself. Its consumers share its fate (see `WarrenConnection`).
    case shared(WarrenConnection)
}
