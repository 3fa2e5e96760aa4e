import ArgumentParser

/// `warren dlq`: inspect, replay and purge a queue's dead-letter queue `<queue>.dead`.
struct DlqCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect, replay and purge the dead-letter queue <queue>.dead.",
        discussion: """
        Every subcommand works on the messages that were in <queue>.dead when it started. stats \
        and peek hold them unacked and give all of them back; replay publishes copies to <queue> \
        with publisher confirms and removes an original only after its copy was confirmed, so an \
        interrupted replay may duplicate a message but never loses one. \
        See Docs/dead-letter-tooling.md.
        """,
        subcommands: [DlqStatsCommand.self, DlqPeekCommand.self, DlqReplayCommand.self, DlqPurgeCommand.self]
    )

    /// `purge` without `--yes` (sysexits EX_USAGE, as ArgumentParser's own usage errors).
    static let usageExit = ExitCode(64)
}
