/// Publisher-confirm bookkeeping: which publish each `basic.ack`/`basic.nack` settles.
///
/// In confirm mode the broker numbers publishes 1, 2, 3… per channel, so pending publishes are
/// keyed by that sequence number. A `basic.return` (unroutable mandatory publish) arrives before
/// the confirm of the same message and is matched by message id.
///
/// Owner-thread confined (a plain value inside `ConnectionLoop`).
struct ConfirmTracker {
    private struct Pending {
        var confirmation: PublishConfirmation
        var messageID: String?
        var returned: AMQPError?
    }

    private var nextSequence: UInt64 = 1
    private var lowestPending: UInt64 = 1
    private var pending: [UInt64: Pending] = [:]
    private var sequenceByMessageID: [String: UInt64] = [:]

    mutating func add(messageID: String?, confirmation: PublishConfirmation) {
        pending[nextSequence] = Pending(confirmation: confirmation, messageID: messageID)
        if let messageID { sequenceByMessageID[messageID] = nextSequence }
        nextSequence += 1
    }

    mutating func markReturned(messageID: String?, error: AMQPError) {
        if let messageID, let sequence = sequenceByMessageID[messageID] {
            pending[sequence]?.returned = error
        } else if let sequence = (lowestPending..<nextSequence).first(where: { pending[$0] != nil }) {
            // Without a message id, the oldest unconfirmed publish is the best guess.
            pending[sequence]?.returned = error
        }
    }

    mutating func settle(upTo tag: UInt64, multiple: Bool, acked: Bool) {
        let range = multiple ? lowestPending...max(lowestPending, tag) : tag...tag
        for sequence in range {
            guard let entry = pending.removeValue(forKey: sequence) else { continue }
            if let messageID = entry.messageID { sequenceByMessageID.removeValue(forKey: messageID) }
            if let returned = entry.returned {
                entry.confirmation.complete(.failure(returned))
            } else if acked {
                entry.confirmation.complete(.success(()))
            } else {
                entry.confirmation.complete(.failure(.publishNacked))
            }
        }
        while lowestPending < nextSequence, pending[lowestPending] == nil { lowestPending += 1 }
    }

    mutating func failAll(_ error: AMQPError) {
        for (_, entry) in pending { entry.confirmation.complete(.failure(error)) }
        pending = [:]
        sequenceByMessageID = [:]
        lowestPending = nextSequence
    }
}
