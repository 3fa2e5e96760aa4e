import Logging
import WarrenAMQP

/// Resolves settings from command-line flags and environment variables: a flag wins over its
/// variable, which wins over the default. Pure: tests pass both sources in.
///
/// Each setting has a flag `--name` and a variable `WARREN_NAME` (dashes become underscores).
///
/// Settings that may hold a secret (`secret(_:)`: the AMQP URL, the AMQP password) also read
/// `WARREN_NAME_FILE`, a file holding the value (the Docker and Kubernetes secrets convention);
/// one trailing newline is ignored. Setting both `WARREN_NAME` and `WARREN_NAME_FILE` is an error.
public struct SettingsResolver: Sendable {
    /// Flag values given on the command line, keyed by flag name without dashes (`prefetch`).
    public var flags: [String: String]
    public var environment: [String: String]
    /// Reads a `_FILE` setting's file; throws a text for the error message. Injected for tests.
    public var readFile: @Sendable (String) throws -> String

    public init(flags: [String: String], environment: [String: String], readFile: @escaping @Sendable (String) throws -> String = SecretFile.read) {
        self.flags = flags
        self.environment = environment
        self.readFile = readFile
    }

    public static func environmentName(_ flag: String) -> String {
        "WARREN_" + flag.uppercased().replacingDashes()
    }

    /// The raw value and the key it came from, or `nil` when neither is set.
    public func raw(_ flag: String) -> (value: String, key: String)? {
        if let value = flags[flag] { return (value, "--\(flag)") }
        let name = Self.environmentName(flag)
        if let value = environment[name] { return (value, name) }
        return nil
    }

    public func string(_ flag: String, default defaultValue: String, allowEmpty: Bool = false) throws -> String {
        guard let (value, key) = raw(flag) else { return defaultValue }
        if !allowEmpty && value.isEmpty {
            throw ConfigurationError(key: key, value: "\"\"", problem: "must not be empty")
        }
        return value
    }

    public func integer<T: FixedWidthInteger & Sendable>(_ flag: String, default defaultValue: T, in range: ClosedRange<T>) throws -> T {
        guard let (value, key) = raw(flag) else { return defaultValue }
        guard let number = T(value.trimmingSpaces()), range.contains(number) else {
            throw ConfigurationError(key: key, value: value, problem: "must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    public func choice<T: RawRepresentable & CaseIterable & Sendable>(_ flag: String, default defaultValue: T) throws -> T where T.RawValue == String {
        guard let (value, key) = raw(flag) else { return defaultValue }
        guard let choice = T(rawValue: value.lowercased()) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(key: key, value: value, problem: "must be one of: \(allowed)")
        }
        return choice
    }

    /// A secret's raw value and the key it came from: the flag, `WARREN_NAME`, or the contents
    /// of the file named by `WARREN_NAME_FILE`; `nil` when none is set. The value is never put
    /// into an error message.
    public func secret(_ flag: String) throws -> (value: String, key: String)? {
        if let value = flags[flag] { return (value, "--\(flag)") }
        let name = Self.environmentName(flag)
        let fileKey = name + "_FILE"
        switch (environment[name], environment[fileKey]) {
        case (let value?, nil):
            return (value, name)
        case (_?, _?):
            throw ConfigurationError(key: fileKey, value: "(set)", problem: "set either \(name) or \(fileKey), not both")
        case (nil, let path?):
            do {
                var value = try readFile(path)
                // "\r\n" is one Character, so one removeLast drops either ending.
                if value.hasSuffix("\n") || value.hasSuffix("\r\n") { value.removeLast() }
                return (value, fileKey)
            } catch {
                throw ConfigurationError(key: fileKey, value: path, problem: "cannot read the file: \(error)")
            }
        case (nil, nil):
            return nil
        }
    }

    /// A secret holding one AMQP URL or a comma-separated list of them (`AMQPURLList`).
    public func amqpURLs(_ flag: String, default defaultValue: String) throws -> AMQPURLList {
        let (value, key) = try secret(flag) ?? (defaultValue, "default")
        do {
            return try AMQPURLList(value)
        } catch let error as AMQPError {
            // The value may hold passwords: show it redacted, or not at all. A secret file's
            // contents are never shown: what does not parse may be the bare password.
            let shown = key.hasSuffix("_FILE") ? "(the file's contents, not shown)" : AMQPURLList.redact(value)
            throw ConfigurationError(key: key, value: shown, problem: "\(error)")
        }
    }

    /// `true` or `false` (any case).
    public func boolean(_ flag: String, default defaultValue: Bool) throws -> Bool {
        guard let (value, key) = raw(flag) else { return defaultValue }
        switch value.trimmingSpaces().lowercased() {
        case "true": return true
        case "false": return false
        default: throw ConfigurationError(key: key, value: value, problem: "must be true or false")
        }
    }

    /// A duration: `250ms`, `2s`, `1.5s`, `1m`, or a bare number of seconds.
    public func duration(_ flag: String, default defaultValue: Duration, in range: ClosedRange<Duration>) throws -> Duration {
        guard let (value, key) = raw(flag) else { return defaultValue }
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

    public func logLevel(_ flag: String, default defaultValue: Logger.Level) throws -> Logger.Level {
        guard let (value, key) = raw(flag) else { return defaultValue }
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
