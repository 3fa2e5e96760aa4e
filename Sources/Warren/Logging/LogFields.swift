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
        let provided = provider?.get() ?? [:]
        if provided.isEmpty, event.error == nil, let fields = plainMerge(handler: handler, explicit: event.metadata) {
            return fields
        }
        var fields = handler
        if !provided.isEmpty {
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

    /// The same result for the usual line (no provider metadata, no error, no reserved key),
    /// built in one array instead of a merged dictionary, seven reserved-key lookups and a
    /// sorted copy: a line per failed message made that dictionary churn a tenth of the failure
    /// path's CPU. `nil` when a key is reserved (the general path renames it).
    private static func plainMerge(
        handler: Logger.Metadata, explicit: Logger.Metadata?
    ) -> [(key: String, value: Logger.MetadataValue)]? {
        var fields: [(key: String, value: Logger.MetadataValue)] = []
        fields.reserveCapacity(handler.count + (explicit?.count ?? 0))
        for (key, value) in handler {
            if isReserved(key) { return nil }
            fields.append((key, value))
        }
        let fromHandler = fields.count
        for (key, value) in explicit ?? [:] {
            if isReserved(key) { return nil }
            // The call's value wins over the handler's (the keys of each are unique).
            if let index = fields[..<fromHandler].firstIndex(where: { $0.key == key }) {
                fields[index].value = value
            } else {
                fields.append((key, value))
            }
        }
        fields.sort { $0.key < $1.key }
        return fields
    }

    /// Whether `key` is one of `reserved`, by its length first: a failed message's line has a
    /// dozen keys, and comparing each with all seven names was most of this merge's cost.
    static func isReserved(_ key: String) -> Bool {
        switch key.utf8.count {
        case 2: key == "ts"
        case 3: key == "msg"
        case 4: key == "file" || key == "line"
        case 5: key == "level"
        case 6: key == "logger"
        case 8: key == "function"
        default: false
        }
    }

    /// Whether lines at `level` carry the source location (`file`, `line`, `function`).
    static func showsSourceLocation(_ level: Logger.Level) -> Bool {
        level <= .debug
    }
}
