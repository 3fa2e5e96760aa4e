import Configuration
import Foundation
import Warren
import Yams

/// The `warren` executable's settings: flags > environment > an optional JSON or YAML file
/// (`--config PATH` or `WARREN_CONFIG`) > each setting's default. See Docs/configuration.md.
///
/// swift-configuration does what it is good at here: reading the environment
/// (`EnvironmentVariablesProvider`) and parsing the file (`JSONSnapshot`, `YAMLSnapshot`, with
/// the secret keys marked). The precedence walk stays in `SettingsResolver` (the `Warren`
/// library, which keeps no configuration dependency) because Warren needs what a `ConfigReader`
/// does not tell: which layer answered (for errors naming the key and for `warren config`), and
/// whether `NAME` and `NAME_FILE` were both set in the same layer (an error).
enum SettingsLayers {
    /// Every setting the executable reads, in the README's table order (`warren config` prints
    /// them so); a file key must be one of them, or a secret's `NAME-file`.
    static let names = [
        "amqp-url", "amqp-password", "amqp-shuffle", "queue", "queue-type", "prefetch", "concurrency", "handler",
        "log-level", "log-format", "http-port", "heartbeat", "reconnect-initial-delay", "reconnect-max-delay",
        "shutdown-timeout", "max-refused-attempts", "handler-timeout", "immediate-retries", "retry-delays",
        "crash-limit", "delivery-limit", "bind", "exchange-type", "existing-queue", "schedule", "schedule-missed-ticks",
        "tls-ca-file", "tls-cert-file", "tls-key-file", "tls-key-password",
    ]
    /// The settings that may hold a secret: read through `SettingsResolver.secret`, marked secret
    /// in the file's parser, never printed.
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

    /// The file's top-level keys are the settings' names (`prefetch: 10`); `.json` is JSON,
    /// `.yaml` and `.yml` YAML.
    static func fileLayer(path: String, key: String) throws -> SettingsLayer {
        let bytes: [UInt8]
        do {
            bytes = try Array(SecretFile.read(path, maximumSize: maximumFileSize).utf8)
        } catch {
            throw ConfigurationError(key: key, value: path, problem: "cannot read the file: \(error)")
        }
        let snapshot: any ConfigSnapshot
        let secrets = SecretsSpecifier<String, Void>.specific(secretNames)
        // Parse errors are not shown: a YAML error quotes the offending line, which may hold a secret.
        let format = FormatName(path: path)
        switch format {
        case .json:
            do {
                snapshot = try JSONSnapshot(
                    data: bytes.span.bytes, providerName: path,
                    parsingOptions: .init(secretsSpecifier: .specific(secretNames)))
            } catch {
                throw ConfigurationError(key: key, value: path, problem: "is not a JSON object of settings (its contents are not shown)")
            }
        case .yaml:
            do {
                snapshot = try YAMLSnapshot(data: bytes.span.bytes, providerName: path, parsingOptions: .init(secretsSpecifier: secrets))
            } catch {
                throw ConfigurationError(key: key, value: path, problem: "is not a YAML mapping of settings (its contents are not shown)")
            }
        case nil:
            throw ConfigurationError(key: key, value: path, problem: "must end in .json, .yaml or .yml")
        }
        // A misspelt key would otherwise leave its setting at the default without a word.
        let known = Set(names + secretNames.map { $0 + "-file" })
        if let unknown = try topLevelKeys(bytes, format: format, path: path, key: key).sorted().first(where: { !known.contains($0) }) {
            throw ConfigurationError(key: "\(unknown) in \(path)", value: "(not shown)", problem: "is not a Warren setting (README: Configuration)")
        }
        return SettingsLayer(source: .file, readsSecretFiles: true, keyName: { "\($0) in \(path)" }) { name, kind in
            try fileValue(snapshot, name: name, kind: kind, keyName: "\(name) in \(path)")
        }
    }

    /// The file's top-level keys (a second parse: swift-configuration's snapshots do not list them).
    private static func topLevelKeys(_ bytes: [UInt8], format: FormatName?, path: String, key: String) throws -> [String] {
        let keys: [String]?
        switch format {
        case .json: keys = (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]).map { Array($0.keys) }
        case .yaml: keys = (try? Yams.compose(yaml: String(decoding: bytes, as: UTF8.self)))?.flatMap { $0.mapping?.keys.map { $0.string ?? "\($0)" } }
        case nil: keys = []
        }
        // The snapshot parsed it: this parse cannot fail unless the parsers disagree.
        guard let keys else { throw ConfigurationError(key: key, value: path, problem: "cannot list the file's keys") }
        return keys
    }

    private enum FormatName {
        case json, yaml

        init?(path: String) {
            if path.hasSuffix(".json") {
                self = .json
            } else if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
                self = .yaml
            } else {
                return nil
            }
        }
    }

    /// The file's value as the resolver's text. A scalar is read as text first, so that YAML's
    /// looser literals (`yes`, `0x10`) meet the same rules as a variable's value; JSON's numbers
    /// and booleans are not text, and are asked for by the type the resolver expects (JSON tells
    /// `true` from `1` only so: both read as either). A wrong one (`prefetch: 1.5`) reaches the
    /// resolver's own check and message.
    static func fileValue(_ snapshot: any ConfigSnapshot, name: String, kind: SettingsLayer.ValueKind, keyName: String) throws -> String? {
        let key = AbsoluteConfigKey([name])
        let preferred: [ConfigType]
        switch kind {
        case .text, .integer: preferred = [.string, .int, .double, .bool]
        case .boolean: preferred = [.string, .bool]
        case .list: preferred = [.stringArray, .string]
        }
        for type in preferred + [.int, .double, .bool] {
            // A type mismatch throws; an absent key is a nil value whatever the type.
            guard let result = try? snapshot.value(forKey: key, type: type) else { continue }
            switch result.value?.content {
            case nil: return nil
            case .string(let text): return text
            case .int(let number): return String(number)
            case .double(let number): return "\(number)"
            case .bool(let flag): return flag ? "true" : "false"
            case .stringArray(let items):
                guard case .list(let separator) = kind else { continue }
                return items.joined(separator: String(separator))
            default: continue
            }
        }
        let expected = if case .list = kind { "a string or a list of strings" } else { "a single value (a string, number or boolean)" }
        throw ConfigurationError(key: keyName, value: "(not shown)", problem: "must be \(expected)")
    }
}
