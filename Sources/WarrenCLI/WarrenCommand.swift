import ArgumentParser

/// `warren`: the queue worker and its tools.
@main
struct WarrenCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "warren",
        abstract: "A RabbitMQ queue consumer: acks after handling, dead-letters failures, drains on SIGTERM.",
        version: version,
        subcommands: [WorkerCommand.self, ConfigCommand.self, PublishCommand.self, HealthcheckCommand.self, DlqCommand.self]
    )
}

/// Exit codes of the subcommands, documented in the README. `warren worker` maps the error that
/// ended it with `WorkerHost.exitCode(for:)` (69 refused, 70 crashed, 78 health port).
enum WarrenExit {
    /// A setting has an invalid value (sysexits EX_CONFIG).
    static let configuration = ExitCode(78)
    /// A run-time failure (e.g. a publish failed).
    static let failure = ExitCode(1)

    /// Stopped by `signal` (SIGINT 130, SIGTERM 143), as a shell reports a process it killed.
    static func interrupted(by signal: Int32) -> ExitCode {
        ExitCode(128 + signal)
    }
}
