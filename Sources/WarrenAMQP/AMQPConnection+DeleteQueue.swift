extension AMQPConnection {
    /// Deletes a queue (`queue.delete`, unconditionally) with every message in it and returns how
    /// many messages it held. Deleting a queue that does not exist succeeds (RabbitMQ answers
    /// `delete-ok` with 0).
    ///
    /// Safe from any task: the delete runs on the connection's owner thread.
    @discardableResult
    public func deleteQueue(_ name: String) async throws -> UInt32 {
        try await perform { try $0.raw.deleteQueue(name) }
    }
}
