/// The message this worker consumes, published as JSON:
/// `{"orderID":"o-1001","customer":"ada@example.com","amountCents":4200}`.
///
/// Warren decodes the body before the handler runs; a body that is not such an object is
/// dead-lettered as undecodable and the handler never sees it. `Encodable` too, because the
/// ledger stores the order as it arrived.
struct OrderPlaced: Codable, Sendable {
    /// The idempotency key: the ledger records each order id once, however often it arrives.
    var orderID: String
    var customer: String
    /// Integer cents, not a floating-point amount, so no rounding ever creeps in.
    var amountCents: Int

    /// The rules JSON decoding cannot express. A broken order does not get better by being
    /// retried, so the handler throws this and the message goes to `orders.dead` for a person.
    func validate() throws(InvalidOrder) {
        guard !orderID.isEmpty else { throw InvalidOrder("orderID must not be empty") }
        guard amountCents > 0 else { throw InvalidOrder("amountCents must be positive, got \(amountCents)") }
    }
}
