import CRabbitMQ

extension RawConnection {
    /// `queue.purge`: deletes every ready message of `name` and returns how many it deleted.
    /// Messages delivered to a consumer and not yet acked are not touched.
    ///
    /// - Important: Owner thread only, like every `RawConnection` call.
    func purgeQueue(_ name: String) throws -> UInt32 {
        let arena = CArena()
        guard let ok = amqp_queue_purge(state, Self.channel, arena.bytes(name)) else {
            throw rpcError("queue.purge '\(name)'")
        }
        answered()
        return ok.pointee.message_count
    }
}
