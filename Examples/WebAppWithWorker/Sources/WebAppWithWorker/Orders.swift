import Hummingbird

/// The body of `POST /orders`: `{"item": "book", "quantity": 2, "work_ms": 1500}`.
struct NewOrder: Decodable, Sendable {
    var item: String
    var quantity: Int
    /// Simulated processing time in the worker, in milliseconds (to watch a drain happen).
    var workMilliseconds: Int?

    enum CodingKeys: String, CodingKey {
        case item, quantity
        case workMilliseconds = "work_ms"
    }

    /// What the web app checks itself. The quantity is deliberately left to the worker (think
    /// "out of stock": only fulfilment knows), so that a failing order can be shown end to end.
    func validate() throws {
        guard !item.isEmpty else { throw HTTPError(.badRequest, message: "item must not be empty") }
        if let workMilliseconds, !(0...60_000).contains(workMilliseconds) {
            throw HTTPError(.badRequest, message: "work_ms must be between 0 and 60000")
        }
    }
}

/// The message published for every accepted order; its AMQP message id is the order id.
struct OrderPlaced: Codable, Sendable {
    var item: String
    var quantity: Int
    var workMilliseconds: Int?

    enum CodingKeys: String, CodingKey {
        case item, quantity
        case workMilliseconds = "work_ms"
    }

    init(_ order: NewOrder) {
        item = order.item
        quantity = order.quantity
        workMilliseconds = order.workMilliseconds
    }
}

/// Where an order is: accepted by the web app, then picked up, processed or failed by the worker.
enum OrderStatus: String, Codable, Sendable {
    case accepted, processing, processed, failed
}

/// The answer to `POST /orders` (202) and `GET /orders/{id}` (200).
struct OrderView: ResponseEncodable, Sendable {
    var id: String
    var status: OrderStatus
    var item: String?
    var quantity: Int?
    /// Why a failed order failed.
    var reason: String?
}
