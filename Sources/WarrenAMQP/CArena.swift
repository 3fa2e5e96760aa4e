import CRabbitMQ

/// Scratch memory for building C structures (tables, byte buffers) that librabbitmq reads
/// during one call. Everything allocated is freed together when the arena is released, or made
/// reusable by `recycle()` for an arena kept across calls.
///
/// Not thread-safe: used by the owner thread within one operation.
final class CArena {
    /// The pool, behind a pointer of its own: `&pool` of a stored property, handed to C on
    /// every allocation (a dozen or more per published copy), cost a dynamic exclusivity check
    /// each (`swift_beginAccess`, the access set, `swift_endAccess`: about 130 instructions).
    private let pool: UnsafeMutablePointer<amqp_pool_t>

    init() {
        pool = .allocate(capacity: 1)
        pool.initialize(to: amqp_pool_t())
        init_amqp_pool(pool, 4096)
    }

    deinit {
        empty_amqp_pool(pool)
        pool.deinitialize(count: 1)
        pool.deallocate()
    }

    /// Ends the use of everything allocated so far; the pool keeps its pages for the next
    /// call (their memory is not cleared: every allocation here is written in full before C
    /// reads it). Allocations larger than a page are freed.
    func recycle() {
        recycle_amqp_pool(pool)
    }

    /// The string's UTF-8, copied straight from its storage: a copy's properties and headers
    /// are a dozen or more strings, and an `Array` of each first was an allocation apiece.
    func bytes(_ string: String) -> amqp_bytes_t {
        var string = string
        return string.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
    }

    func bytes(_ array: [UInt8]) -> amqp_bytes_t {
        array.withUnsafeBytes { bytes($0) }
    }

    private func bytes(_ source: UnsafeRawBufferPointer) -> amqp_bytes_t {
        guard let base = source.baseAddress, !source.isEmpty else { return amqp_empty_bytes }
        var result = amqp_bytes_t()
        amqp_pool_alloc_bytes(pool, source.count, &result)
        result.bytes.copyMemory(from: base, byteCount: source.count)
        return result
    }

    /// The table's entries in the order of their keys' UTF-8 bytes, so that its encoding is the
    /// same from one process to the next (a dictionary's order is not).
    func table(_ table: AMQPTable) -> amqp_table_t {
        guard !table.isEmpty else { return amqp_empty_table }
        var entries = UnsafeMutableBufferPointer(
            start: amqp_pool_alloc(pool, MemoryLayout<amqp_table_entry_t>.stride * table.count)!
                .bindMemory(to: amqp_table_entry_t.self, capacity: table.count),
            count: table.count)
        for (index, (key, value)) in zip(entries.indices, table) {
            entries[index] = amqp_table_entry_t(key: bytes(key), value: field(value))
        }
        // The C entries are sorted in place, by their key bytes: sorting the Swift pairs first
        // (`sorted(by:)` with `String`'s `<`) built an array of them and compared `String`s,
        // a third of the instructions of a dead-letter copy's encoding.
        entries.sort { Self.precedes($0.key, $1.key) }
        return amqp_table_t(num_entries: Int32(entries.count), entries: entries.baseAddress)
    }

    /// `table` with `overrides` set over it (an override replaces the entry of the same key),
    /// as `table(_:)` encodes a table: the merge happens here, in the C entries, so that no
    /// merged dictionary is built for a copy (`AMQPProperties.overrideHeaders`).
    func table(_ table: AMQPTable, overriddenBy overrides: [HeaderOverride]) -> amqp_table_t {
        guard !overrides.isEmpty else { return self.table(table) }
        let capacity = table.count + overrides.count
        let entries = amqp_pool_alloc(pool, MemoryLayout<amqp_table_entry_t>.stride * capacity)!
            .bindMemory(to: amqp_table_entry_t.self, capacity: capacity)
        var count = 0
        for (key, value) in table where !overrides.contains(where: { $0.hasKey(key) }) {
            entries[count] = amqp_table_entry_t(key: bytes(key), value: field(value))
            count += 1
        }
        for entry in overrides {
            entries[count] = amqp_table_entry_t(key: bytes(entry.key), value: field(entry.value))
            count += 1
        }
        var sorted = UnsafeMutableBufferPointer(start: entries, count: count)
        sorted.sort { Self.precedes($0.key, $1.key) }
        return amqp_table_t(num_entries: Int32(count), entries: entries)
    }

    /// Byte order of two keys (a shorter key before a longer one it begins).
    private static func precedes(_ left: amqp_bytes_t, _ right: amqp_bytes_t) -> Bool {
        let common = min(left.len, right.len)
        if common > 0 {
            let order = memcmp(left.bytes, right.bytes, common)
            if order != 0 { return order < 0 }
        }
        return left.len < right.len
    }

    func field(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .bool(let v):
            field.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
            field.value.boolean = v ? 1 : 0
        case .int(let v):
            field.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
            field.value.i64 = v
        case .double(let v):
            field.kind = UInt8(AMQP_FIELD_KIND_F64.rawValue)
            field.value.f64 = v
        case .string(let v):
            field.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
            field.value.bytes = bytes(v)
        case .bytes(let v):
            field.kind = UInt8(AMQP_FIELD_KIND_BYTES.rawValue)
            field.value.bytes = bytes(v)
        case .timestamp(let v):
            field.kind = UInt8(AMQP_FIELD_KIND_TIMESTAMP.rawValue)
            field.value.u64 = v
        case .decimal(let scale, let v):
            field.kind = UInt8(AMQP_FIELD_KIND_DECIMAL.rawValue)
            field.value.decimal = amqp_decimal_t(decimals: scale, value: v)
        case .table(let t):
            field.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
            field.value.table = table(t)
        case .array(let items):
            field.kind = UInt8(AMQP_FIELD_KIND_ARRAY.rawValue)
            if items.isEmpty {
                field.value.array = amqp_array_t(num_entries: 0, entries: nil)
            } else {
                let entries = amqp_pool_alloc(pool, MemoryLayout<amqp_field_value_t>.stride * items.count)!
                    .bindMemory(to: amqp_field_value_t.self, capacity: items.count)
                for (index, item) in items.enumerated() { entries[index] = self.field(item) }
                field.value.array = amqp_array_t(num_entries: Int32(items.count), entries: entries)
            }
        case .void:
            field.kind = UInt8(AMQP_FIELD_KIND_VOID.rawValue)
        }
        return field
    }
}

extension AMQPFieldValue {
    /// Decodes a C field value (owned by librabbitmq) into a Swift value.
    init(_ field: amqp_field_value_t) {
        switch UInt32(field.kind) {
        case AMQP_FIELD_KIND_BOOLEAN.rawValue: self = .bool(field.value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: self = .int(Int64(field.value.i8))
        case AMQP_FIELD_KIND_U8.rawValue: self = .int(Int64(field.value.u8))
        case AMQP_FIELD_KIND_I16.rawValue: self = .int(Int64(field.value.i16))
        case AMQP_FIELD_KIND_U16.rawValue: self = .int(Int64(field.value.u16))
        case AMQP_FIELD_KIND_I32.rawValue: self = .int(Int64(field.value.i32))
        case AMQP_FIELD_KIND_U32.rawValue: self = .int(Int64(field.value.u32))
        case AMQP_FIELD_KIND_I64.rawValue: self = .int(field.value.i64)
        case AMQP_FIELD_KIND_U64.rawValue: self = .int(Int64(bitPattern: field.value.u64))
        case AMQP_FIELD_KIND_F32.rawValue: self = .double(Double(field.value.f32))
        case AMQP_FIELD_KIND_F64.rawValue: self = .double(field.value.f64)
        case AMQP_FIELD_KIND_UTF8.rawValue: self = .string(field.value.bytes.swiftString)
        case AMQP_FIELD_KIND_BYTES.rawValue: self = .bytes(field.value.bytes.swiftBytes)
        case AMQP_FIELD_KIND_TIMESTAMP.rawValue: self = .timestamp(field.value.u64)
        case AMQP_FIELD_KIND_DECIMAL.rawValue:
            self = .decimal(scale: field.value.decimal.decimals, value: field.value.decimal.value)
        case AMQP_FIELD_KIND_TABLE.rawValue: self = .table(AMQPTable(cTable: field.value.table))
        case AMQP_FIELD_KIND_ARRAY.rawValue:
            let array = field.value.array
            var items: [AMQPFieldValue] = []
            if let entries = array.entries {
                for index in 0..<Int(array.num_entries) { items.append(AMQPFieldValue(entries[index])) }
            }
            self = .array(items)
        default: self = .void
        }
    }
}

extension Dictionary where Key == String, Value == AMQPFieldValue {
    /// Decodes a C table (owned by librabbitmq) into a Swift dictionary; a later duplicate key wins.
    /// Keys are cut to 255 bytes after UTF-8 repair (`ShortString.fitting`), so the table can be
    /// encoded again.
    init(cTable: amqp_table_t) {
        self.init()
        guard let entries = cTable.entries else { return }
        for index in 0..<Int(cTable.num_entries) {
            self[entries[index].key.swiftShortString] = AMQPFieldValue(entries[index].value)
        }
    }
}
