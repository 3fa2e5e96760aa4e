/// The web app's own record of its orders. A real app keeps this in its database; an actor
/// stands in for one here. It is the app's state, not a queue of work: the work travels through
/// the broker, and the store only remembers what became of each order.
actor OrderStore {
    private struct Record {
        var status: OrderStatus
        var item: String?
        var quantity: Int?
        var reason: String?
    }

    private var records: [String: Record] = [:]

    /// Records an order the broker confirmed. The worker runs in the same process and may have
    /// reached it first, so a status it already recorded is kept.
    func accepted(_ id: String, _ order: OrderPlaced) {
        var record = records[id] ?? Record(status: .accepted)
        record.item = order.item
        record.quantity = order.quantity
        records[id] = record
    }

    /// Records what the worker did with an order.
    func update(_ id: String, _ status: OrderStatus, reason: String? = nil) {
        var record = records[id] ?? Record(status: status)
        record.status = status
        record.reason = reason
        records[id] = record
    }

    func view(_ id: String) -> OrderView? {
        records[id].map { OrderView(id: id, status: $0.status, item: $0.item, quantity: $0.quantity, reason: $0.reason) }
    }
}
