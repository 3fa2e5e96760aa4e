import CRabbitMQ

extension RawConnection {
    /// `queue.delete` without `if-unused`/`if-empty`: returns how many messages were deleted.
    ///
    /// - Important: Owner thread only, like every `RawConnection` call.
    func deleteQueue(_ name: String) throws -> UInt32 {
        let arena = CArena()
        guard let ok = amqp_queue_delete(state, Self.channel, arena.bytes(name), 0, 0) else {
            throw rpcError("queue.delete '\(name)'")
        }
        answered()
        return ok.pointee.message_count
    }
}
