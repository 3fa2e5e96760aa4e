import Synchronization
import WarrenAMQP

/// What this process knows, without asking the broker, about which of its deliveries carry no
/// crash marker: the `CrashGuard`'s cache for redeliveries caused by a lost connection while
/// the process lived on.
///
/// A delivery that arrives not `redelivered` has never been delivered, so no run of it ever
/// died with a process, and no marker names it. While this process holds it (running, or
/// prefetched and not started), it stays that way: no other consumer can have it. When the
/// connection dies, the broker returns every delivery this process held, `redelivered`; the
/// process itself survived, so it knows those messages still have no marker, and their
/// redeliveries run like fresh deliveries, with no marker round trips. A redelivery answered
/// from here is itself held unmarked, so the knowledge carries over a second lost connection.
///
/// Only the connection just lost counts (entries are keyed by consumer tag; the one before is
/// forgotten at the next reconnect), so memory is bounded by about two prefetch windows.
/// Deliveries are recorded by reference (no hashing on the way in); the keys of a lost
/// connection's deliveries are computed once, when the next consumer's first delivery arrives.
///
/// - Important: Thread-safe: called from the delivery loop and from handler tasks.
final class UnmarkedDeliveries: Sendable {
    private struct State {
        /// The consumer whose deliveries `held` lists.
        var consumerTag = ""
        /// Deliveries of that consumer known to be unmarked and not yet settled, by delivery tag.
        /// Message id and body (what a `CrashMarkerKey` is made of) by delivery tag: not the
        /// whole delivery, whose copy retained every one of its strings for every message.
        var held: [UInt64: (messageID: String?, body: [UInt8])] = [:]
        /// Keys of the unmarked deliveries the previous consumer held when its connection ended:
        /// the broker gives them back, `redelivered`. A count per key (duplicates share a key).
        var returned: [CrashMarkerKey: Int] = [:]
    }

    private let state = Mutex(State())

    /// Called for each delivery as it is taken (started or returned unstarted) from consumer
    /// `consumerTag`'s stream. Returns true if it is known to carry no crash marker (it is then
    /// remembered); false for a redelivery this process knows nothing about: the guard must ask
    /// the broker.
    func admit(_ delivery: AMQPDelivery, consumerTag: String) -> Bool {
        state.withLock { state in
            if state.consumerTag != consumerTag {
                // A new consumer (the old one's connection ended): what the old one held comes back.
                var returned: [CrashMarkerKey: Int] = [:]
                for held in state.held.values {
                    returned[CrashMarkerKey(messageID: held.messageID, body: held.body), default: 0] += 1
                }
                state = State(consumerTag: consumerTag, held: [:], returned: returned)
            }
            if delivery.redelivered {
                let key = CrashMarkerKey(messageID: delivery.properties.messageID, body: delivery.body)
                guard let count = state.returned[key] else { return false }
                state.returned[key] = count > 1 ? count - 1 : nil
            }
            state.held[delivery.deliveryTag] = (delivery.properties.messageID, delivery.body)
            return true
        }
    }

    /// The run of an admitted delivery ended. Forgotten if it was settled on a live connection
    /// (it will not come back); kept if its connection was gone (the broker returns it).
    func finished(_ delivery: AMQPDelivery, consumerTag: String, connectionOpen: Bool) {
        guard connectionOpen else { return }
        state.withLock { state in
            if state.consumerTag == consumerTag { state.held[delivery.deliveryTag] = nil }
        }
    }
}
