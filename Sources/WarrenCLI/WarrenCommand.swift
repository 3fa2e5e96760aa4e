import ArgumentParser

/// `warren`: the queue worker and its tools.
@main
struct WarrenCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "warren",
        abstract: "A RabbitMQ queue consumer: acks after handling, dead-letters failures, drains on SIGTERM.",
        version: version,
        subcommands: [WorkerCommand.self, PublishCommand.self]
    )
}

/// Exit codes, documented in the README.
enum WarrenExit {
    /// A setting has an invalid value (sysexits EX_CONFIG).
    static let configuration = ExitCode(78)
    /// The worker or publish failed at run time (broker refused, connection lost, …).
    static let failure = ExitCode(1)
}
