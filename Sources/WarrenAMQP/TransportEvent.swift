/// What the broker sent on a connection that is not the answer to a call in progress: read by
/// `AMQPTransport.nextEvent()` and dispatched by `ConnectionLoop`.
enum TransportEvent {
    case delivery(AMQPDelivery)
    case publishConfirmed(deliveryTag: UInt64, multiple: Bool)
    case publishNacked(deliveryTag: UInt64, multiple: Bool)
    /// A mandatory publish was unroutable. The broker sends it right before that publish's
    /// `basic.ack` on the same channel, so it belongs to the next confirm.
    case returned(replyCode: UInt16, replyText: String)
    case consumerCancelled(consumerTag: String)
    case blocked(reason: String)
    case unblocked
}
