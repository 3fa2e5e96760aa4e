import Logging
import WarrenAMQP

/// Resolves settings from layers of sources, by default command-line flags and environment
/// variables: a flag wins over its variable, which wins over the default. Pure: tests pass the
/// sources in. The `warren` executable adds a configuration file below the environment
/// (`SettingsLayer`; Docs/configuration.md).
///
/// Each setting has a flag `--name` and a variable `WARREN_NAME` (dashes become underscores);
/// in a file it is the key `name`.
///
/// Settings that may hold a secret (`secret(_:)`: the AMQP URL, the AMQP password) also read
/// `WARREN_NAME_FILE` (in a file: `name-file`), a file holding the value (the Docker and
/// Kubernetes secrets convention); one trailing newline is ignored. Setting both `WARREN_NAME`
/// and `WARREN_NAME_FILE` in the same layer is an error; a higher layer's either one wins over a
/// lower layer's.
public struct SettingsResolver: Sendable {
    /// The sources, first wins.
    public var layers: [SettingsLayer]
    /// Reads a `_FILE` setting's file; throws a text for the error message. Injected for tests.
    public var readFile: @Sendable (String) throws -> String

    /// Flags (keyed by flag name without dashes, `prefetch`) over environment variables.
    public init(flags: [String: String], environment: [String: String], readFile: @escaping @Sendable (String) throws -> String = SecretFile.read) {
        self.init(layers: [.flags(flags), .environment(environment)], readFile: readFile)
    }

    /// Layers in precedence order, first wins (e.g. flags, environment, a file).
    public init(layers: [SettingsLayer], readFile: @escaping @Sendable (String) throws -> String = SecretFile.read) {
        self.layers = layers
        self.readFile = readFile
    }

    /// The environment variable of a setting: `prefetch` → `WARREN_PREFETCH`,
    /// `amqp-url` → `WARREN_AMQP_URL`.
    public static func environmentName(_ flag: String) -> String {
        "WARREN_" + flag.uppercased().replacingDashes()
    }

    /// The raw value and the key it came from, or `nil` when no layer sets it.
    public func raw(_ flag: String, as kind: SettingsLayer.ValueKind = .text) throws -> (value: String, key: String)? {
        try origin(flag, as: kind).map { ($0.value, $0.key) }
    }

    /// The raw value, the key and the layer it came from, or `nil` when no layer sets it.
    public func origin(_ flag: String, as kind: SettingsLayer.ValueKind = .text) throws -> (value: String, key: String, source: SettingsLayer.Source)? {
        for layer in layers {
            if let value = try layer.lookup(flag, kind) { return (value, layer.keyName(flag), layer.source) }
        }
        return nil
    }

    /// The setting's text, or `defaultValue` when no layer sets it. Throws `ConfigurationError`
    /// for an empty value unless `allowEmpty`.
    public func string(_ flag: String, default defaultValue: String, allowEmpty: Bool = false) throws -> String {
        guard let (value, key) = try raw(flag) else { return defaultValue }
        if !allowEmpty && value.isEmpty {
            throw ConfigurationError(key: key, value: "\"\"", problem: "must not be empty")
        }
        return value
    }

    /// The setting as an integer within `range`, or `defaultValue` when no layer sets it. Throws
    /// `ConfigurationError` naming the key and the range for anything else.
    public func integer<T: FixedWidthInteger & Sendable>(_ flag: String, default defaultValue: T, in range: ClosedRange<T>) throws -> T {
        guard let (value, key) = try raw(flag, as: .integer) else { return defaultValue }
        guard let number = T(value.trimmingSpaces()), range.contains(number) else {
            throw ConfigurationError(key: key, value: value, problem: "must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// The setting as one of `T`'s cases (the value lowercased must equal a raw value), or
    /// `defaultValue` when no layer sets it. Throws `ConfigurationError` listing the choices.
    public func choice<T: RawRepresentable & CaseIterable & Sendable>(_ flag: String, default defaultValue: T) throws -> T where T.RawValue == String {
        guard let (value, key) = try raw(flag) else { return defaultValue }
        guard let choice = T(rawValue: value.lowercased()) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(key: key, value: value, problem: "must be one of: \(allowed)")
        }
        return choice
    }

    /// A secret's raw value and the key it came from: the flag, `WARREN_NAME`, or the contents
    /// of the file named by `WARREN_NAME_FILE` (in a file: `name` or `name-file`); `nil` when
    /// none is set. The value is never put into an error message.
    public func secret(_ flag: String) throws -> (value: String, key: String)? {
        guard let origin = try secretOrigin(flag) else { return nil }
        guard origin.isFile else { return (origin.value, origin.key) }
        do {
            var value = try readFile(origin.value)
            // "\r\n" is one Character, so one removeLast drops either ending.
            if value.hasSuffix("\n") || value.hasSuffix("\r\n") { value.removeLast() }
            return (value, origin.key)
        } catch {
            throw ConfigurationError(key: origin.key, value: origin.value, problem: "cannot read the file: \(error)")
        }
    }

    /// Where a secret comes from, without reading its file: the first layer that sets `name` or
    /// `name-file`, with `value` the secret itself or (`isFile`) the file's path. Both in one
    /// layer is an error.
    public func secretOrigin(_ flag: String) throws -> (value: String, key: String, source: SettingsLayer.Source, isFile: Bool)? {
        let fileFlag = flag + "-file"
        for layer in layers {
            let value = try layer.lookup(flag, .text)
            let path = layer.readsSecretFiles ? try layer.lookup(fileFlag, .text) : nil
            switch (value, path) {
            case (let value?, nil):
                return (value, layer.keyName(flag), layer.source, false)
            case (_?, _?):
                let name = layer.keyName(flag), fileKey = layer.keyName(fileFlag)
                throw ConfigurationError(key: fileKey, value: "(set)", problem: "set either \(name) or \(fileKey), not both")
            case (nil, let path?):
                return (path, layer.keyName(fileFlag), layer.source, true)
            case (nil, nil):
                continue
            }
        }
        return nil
    }

    /// A secret holding one AMQP URL or a comma-separated list of them (`AMQPURLList`).
    public func amqpURLs(_ flag: String, default defaultValue: String) throws -> AMQPURLList {
        let fromFile = try secretOrigin(flag)?.isFile ?? false
        let (value, key) = try secret(flag) ?? (defaultValue, "default")
        do {
            return try AMQPURLList(value)
        } catch let error as AMQPError {
            // The value may hold passwords: show it redacted, or not at all. A secret file's
            // contents are never shown: what does not parse may be the bare password.
            let shown = fromFile ? "(the file's contents, not shown)" : AMQPURLList.redact(value)
            throw ConfigurationError(key: key, value: shown, problem: "\(error)")
        }
    }

    /// `true` or `false` (any case).
    public func boolean(_ flag: String, default defaultValue: Bool) throws -> Bool {
        guard let (value, key) = try raw(flag, as: .boolean) else { return defaultValue }
        switch value.trimmingSpaces().lowercased() {
        case "true": return true
        case "false": return false
        default: throw ConfigurationError(key: key, value: value, problem: "must be true or false")
        }
    }

    /// A duration: `250ms`, `2s`, `1.5s`, `1m`, or a bare number of seconds.
    public func duration(_ flag: String, default defaultValue: Duration, in range: ClosedRange<Duration>) throws -> Duration {
        guard let (value, key) = try raw(flag) else { return defaultValue }
        guard let duration = Self.parseDuration(value), range.contains(duration) else {
            throw ConfigurationError(
                key: key, value: value,
                problem: "must be a duration like 250ms, 2s, 1.5s or 1m, from \(range.lowerBound) to \(range.upperBound)")
        }
        return duration
    }

    /// Parses `250ms`, `2s`, `1.5s`, `1m`, `1h` or a bare number of seconds; `nil` if malformed.
    public static func parseDuration(_ text: String) -> Duration? {
        let text = String(text.trimmingSpaces()).lowercased()
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = text[...]
        var scale = 1.0
        for unit in units where text.hasSuffix(unit.suffix) {
            number = text.dropLast(unit.suffix.count)
            scale = unit.seconds
            break
        }
        // `exactly:` because converting a Double beyond Int64's range traps: `99999999999999999999h`
        // stopped the process instead of naming the setting.
        guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(number),
              let milliseconds = Int64(exactly: (value * scale * 1000).rounded()) else {
            return nil
        }
        return .milliseconds(milliseconds)
    }

    /// The setting as a swift-log level (`trace` … `critical`, case-insensitive), or
    /// `defaultValue` when no layer sets it. Throws `ConfigurationError` listing the levels.
    public func logLevel(_ flag: String, default defaultValue: Logger.Level) throws -> Logger.Level {
        guard let (value, key) = try raw(flag) else { return defaultValue }
        guard let level = Logger.Level(rawValue: value.lowercased()) else {
            let allowed = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(key: key, value: value, problem: "must be one of: \(allowed)")
        }
        return level
    }
}

extension String {
    fileprivate func replacingDashes() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }

    /// Without leading and trailing spaces (settings, schedules: tabs and newlines are kept,
    /// so that they stay visible in errors).
    func trimmingSpaces() -> Substring {
        var text = self[...]
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
