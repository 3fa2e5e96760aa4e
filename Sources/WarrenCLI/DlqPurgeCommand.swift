import ArgumentParser

/// `warren dlq purge --yes`: deletes every message in the dead-letter queue.
struct DlqPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete every message in <queue>.dead (queue.purge). Requires --yes.",
        discussion: "Without --yes it deletes nothing, says how many messages it would delete, and exits 64."
    )

    @OptionGroup var broker: BrokerOptions

    @Flag(help: "Really delete the messages.")
    var yes = false

    func run() async throws {
        let session = try await DlqSession.open(broker, command: "purge")
        guard yes else {
            await session.connection.close()
            printError("\(session.commandName): would delete \(session.initialCount) message(s) from "
                + "'\(session.deadLetterQueue)'; pass --yes to delete them")
            throw DlqCommand.usageExit
        }
        let purged: UInt32
        do {
            purged = try await session.connection.purgeQueue(session.deadLetterQueue)
        } catch {
            throw await session.fail("cannot purge '\(session.deadLetterQueue)': \(error)")
        }
        await session.connection.close()
        print("purged \(purged)")
    }
}
