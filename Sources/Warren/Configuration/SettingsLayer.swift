/// One source of settings for a `SettingsResolver`: command-line flags, environment variables,
/// a configuration file, or anything else a program reads. A resolver asks its layers in order
/// and takes the first that sets a setting; settings no layer sets take the caller's default.
///
/// The layer is a pair of closures so that this library stays free of any configuration
/// framework: the `warren` executable builds its file and environment layers on
/// swift-configuration's providers (`WarrenCLI/SettingsLayers.swift`); a program embedding Warren
/// can build its own.
public struct SettingsLayer: Sendable {
    /// Where a value came from, as `warren config` prints it.
    public enum Source: String, Sendable, Equatable {
        /// A command-line flag (`--prefetch`).
        case flag
        /// An environment variable (`WARREN_PREFETCH`), shown as `env`.
        case environment = "env"
        /// The configuration file (`--config` / `WARREN_CONFIG`).
        case file
    }

    /// What the resolver will parse a value as. Text-based layers (flags, environment) ignore
    /// it; `warren`'s configuration file needs it to know where an array of strings is allowed (a list).
    public enum ValueKind: Sendable, Equatable {
        /// A string, taken as written.
        case text
        /// A whole number; a file may hold it as a JSON number.
        case integer
        /// `true`/`false`; a file may hold it as a JSON boolean.
        case boolean
        /// A list, joined into one text with `separator` (`bind` and `retry-delays`: `,`; `schedule`: `;`).
        case list(separator: Character)
    }

    /// Which kind of source this layer is, for `warren config` and `origin(_:as:)`.
    public var source: Source
    /// Whether a secret may come from `NAME-file` (`WARREN_NAME_FILE`) in this layer: the file
    /// holds the value. Flags have no such variant.
    public var readsSecretFiles: Bool
    /// The value of the setting `name` (its flag name without dashes, e.g. `prefetch`) as text,
    /// or `nil` when this layer does not set it. Throws `ConfigurationError` for a value of the
    /// wrong shape (a list where a number belongs).
    public var lookup: @Sendable (_ name: String, _ kind: ValueKind) throws -> String?
    /// How an error names the setting `name` of this layer: `--prefetch`, `WARREN_PREFETCH`,
    /// `prefetch in /etc/warren.json`.
    public var keyName: @Sendable (_ name: String) -> String

    /// A layer of any source. The resolver may call `lookup` and `keyName` from any task.
    public init(
        source: Source, readsSecretFiles: Bool, keyName: @escaping @Sendable (String) -> String,
        lookup: @escaping @Sendable (String, ValueKind) throws -> String?
    ) {
        self.source = source
        self.readsSecretFiles = readsSecretFiles
        self.keyName = keyName
        self.lookup = lookup
    }

    /// Command-line flags, keyed by flag name without dashes (`prefetch`).
    public static func flags(_ flags: [String: String]) -> SettingsLayer {
        SettingsLayer(source: .flag, readsSecretFiles: false, keyName: { "--\($0)" }) { name, _ in flags[name] }
    }

    /// Environment variables `WARREN_NAME` (`SettingsResolver.environmentName`).
    public static func environment(_ environment: [String: String]) -> SettingsLayer {
        SettingsLayer(source: .environment, readsSecretFiles: true, keyName: SettingsResolver.environmentName) { name, _ in
            environment[SettingsResolver.environmentName(name)]
        }
    }
}
