/// Publisher-confirm bookkeeping: which publish each `basic.ack`/`basic.nack` settles.
///
/// In confirm mode the broker numbers publishes 1, 2, 3… per channel, so pending publishes are
/// keyed by that sequence number. A `basic.return` (an unroutable mandatory publish) carries no
/// sequence number, but the broker sends it right before that publish's own `basic.ack` on the
/// same channel: it is attached to the next confirm, whatever the message ids (which retry
/// copies and replays reuse, and which may be absent).
///
/// Owner-thread confined (a plain value inside `ConnectionLoop`).
struct ConfirmTracker {
    private var nextSequence: UInt64 = 1
    private var lowestPending: UInt64 = 1
    private var pending: [UInt64: PublishConfirmation] = [:]
    /// A `basic.return` waiting for the confirm that follows it.
    private var pendingReturn: AMQPError?

    mutating func add(_ confirmation: PublishConfirmation) {
        pending[nextSequence] = confirmation
        nextSequence += 1
    }

    mutating func markReturned(_ error: AMQPError) {
        pendingReturn = error
    }

    mutating func settle(upTo tag: UInt64, multiple: Bool, acked: Bool) {
        // The return belongs to the publish this confirm names (the last one it covers).
        let returned = pendingReturn
        pendingReturn = nil
        let range = multiple ? lowestPending...max(lowestPending, tag) : tag...tag
        for sequence in range {
            guard let confirmation = pending.removeValue(forKey: sequence) else { continue }
            if sequence == tag, let returned {
                confirmation.complete(.failure(returned))
            } else if acked {
                confirmation.complete(.success(()))
            } else {
                confirmation.complete(.failure(.publishNacked))
            }
        }
        while lowestPending < nextSequence, pending[lowestPending] == nil { lowestPending += 1 }
    }

    mutating func failAll(_ error: AMQPError) {
        for (_, confirmation) in pending { confirmation.complete(.failure(error)) }
        pending = [:]
        pendingReturn = nil
        lowestPending = nextSequence
    }
}
