import Warren

/// What `warren config` prints: every setting of `warren worker` in the README's order, with the
/// value the worker would use and where it came from. Secrets are `<redacted>`; the AMQP URL
/// shows everything but its password.
struct ConfigReport {
    struct Line: Equatable {
        var name: String
        /// `flag --prefetch`, `env WARREN_PREFETCH`, `file /etc/warren.yaml` or `default`.
        var source: String
        var value: String
    }

    /// The settings in the README's table order.
    static let names = SettingsLayers.names
    static let redacted = "<redacted>"
    /// The settings a file may give as a list, as `WorkerConfiguration(resolving:)` reads them.
    static let listKinds: [String: SettingsLayer.ValueKind] = [
        "bind": .list(separator: ","), "retry-delays": .list(separator: ","), "schedule": .list(separator: ";"),
    ]

    var lines: [Line]

    /// The report of a configuration that resolved from `settings` (so no lookup can fail here
    /// that did not fail then; one that does is rethrown).
    init(configuration: WorkerConfiguration, handler: BuiltInHandler, settings: SettingsResolver) throws {
        let logged = configuration.loggedSettings
        let tls = configuration.broker.tls
        lines = try Self.names.map { name in
            let value: String
            switch name {
            case "amqp-url":
                value = configuration.broker.urls.urls.map { $0.redacted.replacing(":***@", with: ":\(Self.redacted)@") }.joined(separator: ",")
            case "amqp-password", "tls-key-password":
                value = try settings.secretOrigin(name) == nil ? "none" : Self.redacted
            case "handler": value = handler.rawValue
            // Not a field of the configuration: each binding carries it.
            case "exchange-type": value = try settings.choice(name, default: ExchangeType.topic).rawValue
            case "tls-ca-file": value = tls.caCertificateFile ?? "none"
            case "tls-cert-file": value = tls.certificateFile ?? "none"
            case "tls-key-file": value = tls.keyFile ?? "none"
            default:
                guard let logged = logged[name] else { preconditionFailure("\(name) is not in loggedSettings") }
                value = "\(logged)"
            }
            return Line(name: name, source: try Self.source(of: name, in: settings), value: value)
        }
    }

    static func source(of name: String, in settings: SettingsResolver) throws -> String {
        let origin: (key: String, source: SettingsLayer.Source)?
        if SettingsLayers.secretNames.contains(name) {
            origin = try settings.secretOrigin(name).map { ($0.key, $0.source) }
        } else {
            origin = try settings.origin(name, as: listKinds[name] ?? .text).map { ($0.key, $0.source) }
        }
        guard let origin else { return "default" }
        switch origin.source {
        case .flag, .environment: return "\(origin.source.rawValue) \(origin.key)"
        // The file's key is the setting's name: the path says which file.
        case .file: return "file " + (origin.key.split(separator: " in ", maxSplits: 1).last.map(String.init) ?? origin.key)
        }
    }

    /// Aligned columns: name, source, value (last: values may hold spaces, as schedules do).
    var text: String {
        let nameWidth = lines.map(\.name.count).max() ?? 0
        let sourceWidth = max(lines.map(\.source.count).max() ?? 0, "SOURCE".count)
        func row(_ name: String, _ source: String, _ value: String) -> String {
            name.padding(nameWidth) + "  " + source.padding(sourceWidth) + "  " + value
        }
        return ([row("SETTING", "SOURCE", "VALUE")] + lines.map { row($0.name, $0.source, $0.value) }).joined(separator: "\n")
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        self + String(repeating: " ", count: max(0, width - count))
    }
}
