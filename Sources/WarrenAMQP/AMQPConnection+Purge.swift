extension AMQPConnection {
    /// Deletes every ready message of a queue (`queue.purge`) and returns how many were deleted.
    /// Unacked messages (held by a consumer) survive. Fails with `404 NOT_FOUND` when the queue
    /// does not exist, which, like every channel error from the broker, fails what else was in
    /// flight on the channel before it is opened again.
    ///
    /// Safe from any task: the purge runs on the connection's owner thread.
    @discardableResult
    public func purgeQueue(_ name: String) async throws -> UInt32 {
        try await perform { try $0.raw.purgeQueue(name) }
    }
}
