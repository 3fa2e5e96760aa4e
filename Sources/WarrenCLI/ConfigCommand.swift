import ArgumentParser
import Warren

/// `warren config`: the pre-flight check. Resolves the settings exactly as `warren worker` would
/// (same flags, environment and `--config` file), prints each with its source, secrets redacted,
/// and exits 0; an invalid one exits 78 naming its key, before anything touches the broker.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the worker's effective settings and where each comes from (flag, env, file, default); exit 78 if one is invalid.",
        discussion: """
        Takes the same flags as `warren worker` and reads the same WARREN_* variables and --config \
        (or WARREN_CONFIG) file, so `warren config ARGS` checks what `warren worker ARGS` would run \
        with. Secrets (the AMQP password, the TLS key's passphrase) print as <redacted>, the AMQP \
        URL without its password. It reads no secret file's contents beyond what the worker's \
        validation needs, and connects to nothing.
        """
    )

    @OptionGroup var options: WorkerOptions

    func run() throws {
        let (configuration, handler, settings) = try options.resolved()
        let report: ConfigReport
        do {
            report = try ConfigReport(configuration: configuration, handler: handler, settings: settings)
        } catch let error as ConfigurationError {
            throw configurationFailure(error)
        }
        print(report.text)
    }
}
