import Logging

/// The metadata fields of one log line, as both line formats show them.
enum LogFields {
    /// The names of the fields every line has of its own (`file`, `line` and `function` at
    /// `debug` and `trace` only, but reserved at every level so a key never moves with the level).
    static let reserved: [String] = ["file", "function", "level", "line", "logger", "msg", "ts"]

    /// The line's metadata sorted by key: the handler's `metadata`, overridden by the provider's,
    /// overridden by the call's; then the event's error as `error` ("Type: description") unless a
    /// key `error` exists; then each key that equals a reserved name prefixed with `meta.` (again,
    /// until the name is free), so a line never has two fields with the same key.
    static func merge(
        handler: Logger.Metadata,
        provider: Logger.MetadataProvider?,
        event: LogEvent
    ) -> [(key: String, value: Logger.MetadataValue)] {
        var fields = handler
        if let provided = provider?.get(), !provided.isEmpty {
            fields.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            fields.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error, fields["error"] == nil {
            fields["error"] = "\(String(describing: type(of: error))): \(error)"
        }
        for name in reserved {
            guard let value = fields.removeValue(forKey: name) else { continue }
            var renamed = "meta." + name
            while fields[renamed] != nil { renamed = "meta." + renamed }
            fields[renamed] = value
        }
        return fields.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
    }

    /// Whether lines at `level` carry the source location (`file`, `line`, `function`).
    static func showsSourceLocation(_ level: Logger.Level) -> Bool {
        level <= .debug
    }
}
