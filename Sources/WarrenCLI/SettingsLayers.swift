import Configuration
import Warren

/// The `warren` executable's settings: flags > environment > an optional YAML or JSON file
/// (`--config PATH` or `WARREN_CONFIG`) > each setting's default. See Docs/configuration.md.
///
/// swift-configuration reads the environment (`EnvironmentVariablesProvider`); the file is
/// parsed by `FoundationEssentials`' `JSONDecoder` or `YAMLSettings` (`SettingsLayers+File.swift`),
/// not by swift-configuration's JSON/YAML traits, which link full Foundation and ICU. The precedence walk stays in `SettingsResolver` (the `Warren`
/// library, which keeps no configuration dependency) because Warren needs what a `ConfigReader`
/// does not tell: which layer answered (for errors naming the key and for `warren config`), and
/// whether `NAME` and `NAME_FILE` were both set in the same layer (an error).
enum SettingsLayers {
    /// Every setting the executable reads, in the README's table order (`warren config` prints
    /// them so); a file key must be one of them, or a secret's `NAME-file`.
    static let names = [
        "amqp-url", "amqp-password", "amqp-shuffle", "queue", "queue-type", "prefetch", "concurrency", "handler-thread", "handler",
        "log-level", "log-format", "http-port", "heartbeat", "reconnect-initial-delay", "reconnect-max-delay",
        "shutdown-timeout", "max-refused-attempts", "handler-timeout", "immediate-retries", "retry-delays",
        "crash-limit", "delivery-limit", "bind", "exchange-type", "existing-queue", "schedule", "schedule-missed-ticks",
        "tls-ca-file", "tls-cert-file", "tls-key-file", "tls-key-password",
    ]
    /// The settings that may hold a secret: read through `SettingsResolver.secret`, never printed.
    static let secretNames: Set<String> = ["amqp-url", "amqp-password", "tls-key-password"]
    /// A configuration file is settings, not data: a larger one is a wrong path.
    static let maximumFileSize = 1024 * 1024

    /// A resolver over `flags`, `environment` and the file named by `configPath` (the `--config`
    /// flag) or else `WARREN_CONFIG`. Throws `ConfigurationError` naming `--config` or
    /// `WARREN_CONFIG` when the file cannot be read or parsed.
    static func resolver(
        flags: [String: String], configPath: String?, environment: [String: String],
        readFile: @escaping @Sendable (String) throws -> String = SecretFile.read
    ) throws -> SettingsResolver {
        var layers = [SettingsLayer.flags(flags), environmentLayer(environment)]
        if let file = try configFile(flag: configPath, environment: environment) {
            layers.append(try fileLayer(path: file.path, key: file.key))
        }
        return SettingsResolver(layers: layers, readFile: readFile)
    }

    /// The configuration file's path and the key that named it, or `nil` for none.
    static func configFile(flag: String?, environment: [String: String]) throws -> (path: String, key: String)? {
        let named = flag.map { ($0, "--config") } ?? environment["WARREN_CONFIG"].map { ($0, "WARREN_CONFIG") }
        guard let (path, key) = named else { return nil }
        guard !path.isEmpty else { throw ConfigurationError(key: key, value: "\"\"", problem: "must not be empty") }
        return (path, key)
    }

    /// `WARREN_NAME` through swift-configuration's environment provider: the setting `name`
    /// is the key `warren.name`, which the provider spells `WARREN_NAME`.
    static func environmentLayer(_ environment: [String: String]) -> SettingsLayer {
        let provider = EnvironmentVariablesProvider(
            environmentVariables: environment,
            secretsSpecifier: .specific(Set(secretNames.map(SettingsResolver.environmentName))))
        return SettingsLayer(source: .environment, readsSecretFiles: true, keyName: SettingsResolver.environmentName) { name, _ in
            // Read as text: the resolver parses and validates every value the same way whatever its layer.
            guard case .string(let text)? = try? provider.value(forKey: AbsoluteConfigKey(["warren", name]), type: .string).value?.content else {
                return nil
            }
            return text
        }
    }
}
