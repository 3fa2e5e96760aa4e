extension AMQPConnection {
    /// Checks that an exchange exists (`exchange.declare`, passive), whatever its type. Fails
    /// with `404 NOT_FOUND` when it does not, which, like every channel error from the broker,
    /// fails what else was in flight on the channel (consumers, unconfirmed publishes) before
    /// the channel is opened again; the next call runs on the new channel.
    ///
    /// Safe from any task: the declare runs on the connection's owner thread.
    public func inspectExchange(_ name: String) async throws {
        try await perform { try $0.raw.inspectExchange(name) }
    }
}
