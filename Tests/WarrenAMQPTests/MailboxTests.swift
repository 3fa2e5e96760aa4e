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
            case .run: nil
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

    /// The first command of a batch wakes the owner from `poll()`; clearing the wake-up after
    /// taking the batch leaves `poll()` quiet until the next command.
    @Test func theFirstCommandWakesTheOwnerAndClearingQuietsIt() throws {
        let mailbox = try Mailbox()
        #expect(!isWoken(mailbox))
        mailbox.send(.ack(1))
        #expect(isWoken(mailbox))
        mailbox.send(.ack(2))
        mailbox.clearWake()
        #expect(!isWoken(mailbox))
        #expect(tags(mailbox.take()) == [1, 2])
        mailbox.send(.ack(3))
        #expect(isWoken(mailbox), "the next batch wakes it again")
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
