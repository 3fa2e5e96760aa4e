import ArgumentParser

/// `warren`: the queue worker and its tools.
@main
struct WarrenCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "warren",
        abstract: "A RabbitMQ queue consumer: acks after handling, dead-letters failures, drains on SIGTERM.",
        version: version,
        subcommands: [WorkerCommand.self, PublishCommand.self, HealthcheckCommand.self]
    )
}

/// Exit codes, documented in the README.
enum WarrenExit {
    /// A setting has an invalid value (sysexits EX_CONFIG).
    static let configuration = ExitCode(78)
    /// A run-time failure not covered below (e.g. the HTTP port is taken, publish failed).
    static let failure = ExitCode(1)
    /// The broker refused permanently (credentials, vhost, incompatible queue) (EX_UNAVAILABLE).
    static let refused = ExitCode(69)
    /// The consumer loop itself failed: a bug (EX_SOFTWARE).
    static let crashed = ExitCode(70)
}
