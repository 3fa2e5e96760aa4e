extension OrderLedger {
    /// One transaction on the ledger: a handle that can be passed between tasks, like a
    /// database client's transaction object.
    struct Transaction: Sendable {
        let id: Int
        let ledger: OrderLedger

        func stage(_ order: OrderPlaced) async throws {
            try await ledger.stage(order, in: id)
        }

        /// Returns how many staged orders were new (0: a duplicate, nothing written).
        func commit() async throws -> Int {
            try await ledger.commit(id)
        }

        /// Drops whatever is staged; false when the transaction was already committed.
        func rollback() async -> Bool {
            await ledger.rollback(id)
        }
    }
}
