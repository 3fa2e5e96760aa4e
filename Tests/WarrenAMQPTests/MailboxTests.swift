import Glibc
import Testing
@testable import WarrenAMQP

/// `Mailbox`: the command queue to a connection's owner thread and its eventfd wake-up.
@Suite struct MailboxTests {
    /// Whether the eventfd is readable now (what the owner's `poll()` waits for).
    private func isWoken(_ mailbox: Mailbox) -> Bool {
        var descriptor = pollfd(fd: mailbox.wakeFD, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 1
    }

    private func tags(_ commands: [Command]) -> [UInt64] {
        commands.compactMap { command in
            switch command {
            case .ack(let tag): tag
            case .nack(let tag, _): tag
            case .run, .publish, .job: nil
            }
        }
    }

    @Test func commandsAreTakenInOrderOnce() throws {
        let mailbox = try Mailbox()
        #expect(mailbox.send(.ack(1)) == nil)
        #expect(mailbox.send(.nack(2, requeue: true)) == nil)
        #expect(mailbox.send(.ack(3)) == nil)
        #expect(tags(mailbox.take()) == [1, 2, 3])
        #expect(mailbox.take().isEmpty)
    }

    /// A command wakes the owner only when it is parked in `poll()`, once per sleep; while it
    /// is busy (not parked) commands just queue, with no eventfd write; it does not park while
    /// commands wait.
    @Test func onlyAParkedOwnerIsWokenOncePerSleep() throws {
        let mailbox = try Mailbox()
        mailbox.send(.ack(1))
        #expect(!isWoken(mailbox), "a busy owner takes commands at its next turn: no wake-up")
        #expect(!mailbox.park(), "commands are waiting: the owner must not sleep")
        #expect(tags(mailbox.take()) == [1])
        #expect(mailbox.park())
        mailbox.send(.ack(2))
        #expect(isWoken(mailbox), "the first command after parking wakes it")
        mailbox.send(.ack(3))
        mailbox.clearWake()
        #expect(!isWoken(mailbox), "one wake-up per sleep")
        mailbox.unpark()
        #expect(tags(mailbox.take()) == [2, 3])
        #expect(mailbox.park())
        mailbox.unpark()
        mailbox.send(.ack(4))
        #expect(!isWoken(mailbox), "woken by something else (the socket): no write needed")
    }

    /// Held acks (`AMQPConnection.queueAck`) stay out of the owner's turns until released,
    /// then arrive together, waking a parked owner once.
    @Test func heldAcksReachTheOwnerTogetherWhenReleased() throws {
        let mailbox = try Mailbox()
        #expect(mailbox.park())
        #expect(mailbox.hold(ack: 1) == nil)
        #expect(mailbox.hold(ack: 2) == nil)
        #expect(!isWoken(mailbox), "held: no wake-up")
        #expect(mailbox.take().isEmpty)
        mailbox.releaseHeld()
        #expect(isWoken(mailbox))
        mailbox.clearWake()
        mailbox.unpark()
        #expect(tags(mailbox.take()) == [1, 2])
        mailbox.releaseHeld()
        #expect(mailbox.take().isEmpty, "released once")
    }

    @Test func heldAcksDieWithTheConnection() throws {
        let mailbox = try Mailbox()
        mailbox.hold(ack: 1)
        _ = mailbox.close(with: .connectionClosedByClient)
        #expect(mailbox.hold(ack: 2) != nil)
        mailbox.releaseHeld()
        #expect(mailbox.take().isEmpty)
    }

    /// Once closed, commands are refused with the connection's error (the caller fails at once
    /// instead of waiting for an owner that is gone); those still queued are handed back.
    @Test func closingRefusesNewCommandsAndHandsBackQueuedOnes() throws {
        let mailbox = try Mailbox()
        mailbox.send(.ack(1))
        mailbox.send(.ack(2))
        #expect(tags(mailbox.close(with: .heartbeatTimeout)) == [1, 2])
        #expect(mailbox.closedError == .heartbeatTimeout)
        #expect(mailbox.send(.ack(3)) == .heartbeatTimeout)
        #expect(mailbox.take().isEmpty, "a refused command is not queued")
        // The first error stands.
        _ = mailbox.close(with: .connectionClosedByClient)
        #expect(mailbox.closedError == .heartbeatTimeout)
    }
}
