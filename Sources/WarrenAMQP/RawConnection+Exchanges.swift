import CRabbitMQ

extension RawConnection {
    /// `exchange.declare` with `passive`: succeeds when `name` exists, whatever its type and
    /// flags; throws `404 NOT_FOUND` when it does not, which closes the channel (the connection
    /// loop then reopens it).
    ///
    /// - Important: Owner thread only, like every `RawConnection` call.
    func inspectExchange(_ name: String) throws {
        let arena = CArena()
        // The type is ignored by a passive declare, but librabbitmq sends it: "" is accepted.
        guard amqp_exchange_declare(state, Self.channel, arena.bytes(name), arena.bytes(""), 1, 0, 0, 0, amqp_empty_table) != nil else {
            throw rpcError("exchange.declare (passive) '\(name)'")
        }
        answered()
    }
}
