import ArgumentParser
import Warren
import WarrenAMQP

/// One `warren dlq` subcommand's connection, with the dead-letter queue known to exist and its
/// message count when the command started (the "snapshot" every subcommand is bounded by).
struct DlqSession {
    let connection: AMQPConnection
    let topology: Topology
    /// Ready messages in `Q.dead` when the command started.
    let initialCount: Int
    /// `warren dlq <name>`, the prefix of every error line.
    let commandName: String

    var deadLetterQueue: String { topology.deadLetterQueue }

    /// Resolves the broker options as `warren publish` does (bad values exit 78), connects, and
    /// inspects `Q.dead` (passively: the tools never create it). Every failure is reported as
    /// one line on stderr and thrown as an `ExitCode`.
    static func open(_ broker: BrokerOptions, command: String) async throws -> DlqSession {
        let commandName = "warren dlq \(command)"
        let configuration = try broker.resolved()
        let connection: AMQPConnection
        do {
            // Every node of a URL list, in this process's order, each with its own deadline.
            connection = try await AMQPConnection.connect(
                configuration.amqp(connectionName: ConnectionConfiguration.processName("warren") + " dlq \(command)"),
                nodes: configuration.orderedURLs).connection
        } catch {
            printError("\(commandName): cannot connect to \(configuration.urls.redacted): \(error)")
            throw WarrenExit.failure
        }
        let topology = Topology(queue: configuration.queue, queueType: configuration.queueType)
        do {
            let count = try await connection.inspectQueue(topology.deadLetterQueue).messages
            return DlqSession(connection: connection, topology: topology, initialCount: Int(count), commandName: commandName)
        } catch {
            await connection.close()
            if (error as? AMQPError)?.replyCode == 404 {
                printError("\(commandName): the dead-letter queue '\(topology.deadLetterQueue)' does not exist "
                    + "(wrong --queue? `warren worker` and `warren publish` declare it)")
            } else {
                printError("\(commandName): cannot inspect '\(topology.deadLetterQueue)': \(error)")
            }
            throw WarrenExit.failure
        }
    }

    /// Reports a failure that ends the command (the connection is closed first, so every
    /// message it held goes back to `Q.dead`) and returns the exit code to throw.
    func fail(_ text: String) async -> ExitCode {
        await connection.close()
        printError("\(commandName): \(text)")
        return WarrenExit.failure
    }
}
