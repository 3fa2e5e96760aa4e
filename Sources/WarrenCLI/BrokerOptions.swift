import ArgumentParser
import Warren

#if canImport(Glibc)
import Glibc
#endif

/// Connection options shared by every subcommand. Kept as strings so that Warren's own
/// validation reports the offending key the same way for flags and environment variables.
struct BrokerOptions: ParsableArguments {
    @Option(name: .customLong("amqp-url"), help: "Broker URL, or a comma-separated list of them, one per cluster node, tried in a per-process shuffled order (env WARREN_AMQP_URL; default amqp://guest:guest@127.0.0.1:5672/). An empty vhost path means '/'. Query parameters: heartbeat, connection_timeout (ms), channel_max; unknown ones are an error.")
    var amqpURL: String?

    @Option(help: "Queue name (env WARREN_QUEUE; default warren.jobs).")
    var queue: String?

    @Option(name: .customLong("queue-type"), help: "quorum or classic (env WARREN_QUEUE_TYPE; default quorum).")
    var queueType: String?

    @Option(name: .customLong("tls-ca-file"), help: "amqps: PEM file of the CAs to trust instead of the system's (env WARREN_TLS_CA_FILE; the URL's cacertfile= wins).")
    var tlsCAFile: String?

    @Option(name: .customLong("tls-cert-file"), help: "amqps: PEM client certificate for mutual TLS (env WARREN_TLS_CERT_FILE; the URL's certfile= wins). Its key's passphrase: env WARREN_TLS_KEY_PASSWORD or WARREN_TLS_KEY_PASSWORD_FILE.")
    var tlsCertFile: String?

    @Option(name: .customLong("config"), help: ArgumentHelp("A YAML (.yaml, .yml) or JSON (.json) file of settings, keyed by flag name (prefetch: 10); flags and WARREN_* variables win over it (env WARREN_CONFIG).", valueName: "path"))
    var config: String?

    @Option(name: .customLong("tls-key-file"), help: "amqps: PEM private key of --tls-cert-file (env WARREN_TLS_KEY_FILE; the URL's keyfile= wins).")
    var tlsKeyFile: String?

    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags["tls-ca-file"] = tlsCAFile
        flags["tls-cert-file"] = tlsCertFile
        flags["tls-key-file"] = tlsKeyFile
        flags["amqp-url"] = amqpURL
        flags["queue"] = queue
        flags["queue-type"] = queueType
        return flags
    }

    /// The settings of these flags and `extra` ones over the `WARREN_*` environment over the
    /// `--config` (or `WARREN_CONFIG`) file: `SettingsLayers`. A file that cannot be read is a
    /// `ConfigurationError`.
    func settings(adding extra: [String: String] = [:]) throws -> SettingsResolver {
        try SettingsLayers.resolver(
            flags: flags.merging(extra) { _, new in new }, configPath: config, environment: SettingsResolver.processEnvironment())
    }

    /// The broker, queue and queue type from these flags, the `WARREN_*` environment and the
    /// configuration file; a bad value is reported on stderr and thrown as exit 78.
    func resolved() throws -> BrokerConfiguration {
        do {
            return try BrokerConfiguration(resolving: settings())
        } catch let error as ConfigurationError {
            throw configurationFailure(error)
        }
    }

    /// The topology `warren worker` declares for `broker`'s queue: the retry queues, delivery
    /// limit, bindings and whether the queue is someone else's come from `WARREN_RETRY_DELAYS`,
    /// `WARREN_DELIVERY_LIMIT`, `WARREN_BIND` and `WARREN_EXISTING_QUEUE` (or the configuration
    /// file), so a tool that declares first declares exactly what the worker will (the broker
    /// refuses a redeclaration with other arguments). A bad value is reported on stderr and
    /// thrown as exit 78.
    func topology(of broker: BrokerConfiguration) throws -> Topology {
        do {
            // These tools have no flags for the topology settings: the environment and the file set them.
            return try Topology(broker: broker, resolving: settings())
        } catch let error as ConfigurationError {
            throw configurationFailure(error)
        }
    }
}

/// Prints a configuration error to stderr and returns the exit code for it.
func configurationFailure(_ error: ConfigurationError) -> ExitCode {
    printError("warren: configuration error: \(error)")
    return WarrenExit.configuration
}

func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
}
