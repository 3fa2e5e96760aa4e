import Logging

extension JSONLogHandler {
    /// Writes the line `log(event:)` writes for an event at `level` with `message` and `fields`
    /// as its metadata (and no error), byte for byte, but without swift-log's metadata
    /// dictionaries: for the outcome line of every failed message, where the line built through
    /// them was a third of the message's instructions.
    ///
    /// - Precondition: `fields` is sorted by key with each key once (`LogLineField.merge` keeps
    ///   it so), and each key follows `LogLineField`'s rules.
    /// - Returns: `false`, having written nothing, when the line needs `log(event:)`: a metadata
    ///   provider is set, `level` shows the source location (`debug`, `trace`), or one of the
    ///   handler's own keys is reserved or not ASCII (the general path renames or sorts it).
    ///   `true` when the line was written, or is below `logLevel` and so is not written.
    /// - Important: Like `log(event:)`, callable from any thread or task; never blocks.
    func writeLine(level: Logger.Level, message: String, sortedFields fields: [LogLineField]) -> Bool {
        assert(zip(fields, fields.dropFirst()).allSatisfy { LogLineField.compare($0.key, $1.key) < 0 }, "fields not sorted")
        guard level >= logLevel else { return true }
        guard metadataProvider == nil, !LogFields.showsSourceLocation(level) else { return false }
        var handlerFields: [(key: String, value: Logger.MetadataValue)] = []
        if !metadata.isEmpty {
            handlerFields.reserveCapacity(metadata.count)
            for (key, value) in metadata {
                guard !LogFields.isReserved(key), key.utf8.allSatisfy({ $0 < 0x80 }) else { return false }
                handlerFields.append((key, value))
            }
            handlerFields.sort { $0.key < $1.key }
        }
        var line = LineBuffer(capacity: 1024)
        writeHead(level: level, message: message, to: &line)
        var next = 0
        for field in fields {
            let key = LogLineField.bytes(of: field.key)
            // The handler's fields that sort before this one; one with the same key loses to it.
            while next < handlerFields.count {
                var handlerKey = handlerFields[next].key
                let order = handlerKey.withUTF8 { LogLineField.compare($0, key) }
                guard order <= 0 else { break }
                if order < 0 { Self.append(handlerFields[next], to: &line) }
                next += 1
            }
            line.append(UInt8(ascii: ","))
            line.append(UInt8(ascii: "\""))
            line.append(contentsOf: key)
            JSONText.appendRaw("\":", to: &line)
            JSONText.appendString(field.value, to: &line)
        }
        for field in handlerFields[next...] { Self.append(field, to: &line) }
        JSONText.appendRaw("}\n", to: &line)
        line.withBytes { output.write($0, level: level) }
        return true
    }

    private static func append(_ field: (key: String, value: Logger.MetadataValue), to line: inout LineBuffer) {
        line.append(UInt8(ascii: ","))
        JSONText.appendString(field.key, to: &line)
        line.append(UInt8(ascii: ":"))
        JSONText.append(field.value, to: &line)
    }
}
