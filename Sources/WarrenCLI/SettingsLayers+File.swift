import Warren

extension SettingsLayers {
    /// The configuration file as a layer: a JSON object (`.json`) or a YAML mapping (`.yaml`,
    /// `.yml`; the subset `YAMLSettings` reads) whose top-level keys are the settings' names
    /// (`prefetch: 10`), or a secret's `NAME-file`. Throws `ConfigurationError` naming `key`
    /// (`--config` or `WARREN_CONFIG`) when the file cannot be read or is not such a mapping,
    /// and naming `KEY in PATH` for a key that is not a setting. No error quotes the file's text.
    static func fileLayer(path: String, key: String) throws -> SettingsLayer {
        let isYAML = path.hasSuffix(".yaml") || path.hasSuffix(".yml")
        guard isYAML || path.hasSuffix(".json") else {
            throw ConfigurationError(key: key, value: path, problem: "must be a JSON file ending in .json or a YAML file ending in .yaml or .yml")
        }
        let bytes: [UInt8]
        do {
            bytes = try Array(SecretFile.read(path, maximumSize: maximumFileSize).utf8)
        } catch {
            throw ConfigurationError(key: key, value: path, problem: "cannot read the file: \(error)")
        }
        let settings: [String: JSONValue]
        if isYAML {
            do {
                settings = try YAMLSettings.parse(bytes)
            } catch {
                throw ConfigurationError(key: key, value: path, problem: "is not YAML that warren reads: \(error) (Docs/configuration.md#yaml)")
            }
        } else {
            // The parser's error is not shown: it may quote the text around it, which may hold a secret.
            guard case .object(let mapping)? = try? JSONValue.parse(bytes) else {
                throw ConfigurationError(key: key, value: path, problem: "is not a JSON object of settings (its contents are not shown)")
            }
            settings = mapping
        }
        // A misspelt key would otherwise leave its setting at the default without a word.
        let known = Set(names + secretNames.map { $0 + "-file" })
        if let unknown = settings.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigurationError(key: "\(unknown) in \(path)", value: "(not shown)", problem: "is not a Warren setting (README: Configuration)")
        }
        return SettingsLayer(source: .file, readsSecretFiles: true, keyName: { "\($0) in \(path)" }) { name, kind in
            try fileValue(settings[name], kind: kind, keyName: "\(name) in \(path)")
        }
    }

    /// A file value as the resolver's text, which parses and validates it as it does a variable's:
    /// `10` is `"10"`, `true` is `"true"`, `1.5` is `"1.5"` (refused by an integer setting with the
    /// resolver's own message). A list setting also takes an array of strings, joined with its
    /// separator. `null` leaves the setting unset. The value is never quoted in an error: it may be a secret.
    static func fileValue(_ value: JSONValue?, kind: SettingsLayer.ValueKind, keyName: String) throws -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case .integer(let number)?: return String(number)
        case .number(let number)?: return "\(number)"
        case .boolean(let flag)?: return flag ? "true" : "false"
        case .array(let items)?:
            if case .list(let separator) = kind {
                let texts = items.compactMap { item -> String? in if case .string(let text) = item { text } else { nil } }
                if texts.count == items.count { return texts.joined(separator: String(separator)) }
            }
        case .object?: break
        }
        let expected = if case .list = kind { "a string or a list of strings" } else { "a single value (a string, number or boolean)" }
        throw ConfigurationError(key: keyName, value: "(not shown)", problem: "must be \(expected)")
    }
}
