/// Where a consumer's delivery loop and handlers run (`WARREN_HANDLER_THREAD`).
public enum HandlerThread: String, Sendable, CaseIterable {
    /// On Swift's shared cooperative pool, one thread per core (the default). The consuming
    /// connection's thread only reads, writes and sends heartbeats, so handlers that compute for
    /// seconds without suspending cost neither the connection nor its heartbeats, and they use
    /// every core. Every batch of deliveries crosses threads (a pool thread woken and parked,
    /// the connection's thread woken for the acks).
    case pool
    /// On the consuming connection's own thread, between its reads and writes: a delivery
    /// reaches its handler, and its ack the socket, without a thread hand-off. About half the
    /// CPU per message of `pool` with a quick handler (see the README's "Handler thread"), and
    /// handlers that block cannot freeze the rest of the process (the health endpoint, other
    /// consumers). But a handler that blocks its thread, or computes without suspending, holds
    /// up that connection's deliveries, acks and heartbeats meanwhile (the broker drops the
    /// connection after two missed heartbeats), and one consumer's handlers share one core.
    case connection
}
