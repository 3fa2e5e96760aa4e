/// Reads the common demo message (a flat JSON object of plain ASCII strings, integers, booleans
/// and nulls, such as `{"pad":"xxx…"}` or `{"work_ms":200}`) without `JSONDecoder`, which costs
/// about a third of the `demo` handler's CPU per message (issue 17).
///
/// It returns `nil` for anything it is not certain `JSONDecoder` reads exactly the same way, and
/// the demo handler then decodes the body with `JSONDecoder` as before
/// (`JSONMessageDecoding.decode(_:from:properties:trying:)`), so the bodies accepted and refused,
/// and each refusal's reason, do not change. `nil`, not a guess, for: a backslash escape or a
/// non-ASCII byte or a control character in a string; a nested object or array; a number with
/// a fraction, an exponent, a leading zero, more than 18 digits, or `-0`; a key seen twice; a
/// field whose value has the wrong type; more than `maxUnknownKeys` other keys; anything that
/// is not JSON. `DemoCommandReaderTests` compares it with `JSONDecoder` on thousands of bodies.
///
/// Pure; called on the worker task running the message.
enum DemoCommandReader {
    /// Keys that are not `DemoCommand` fields, at most, remembered to find one given twice.
    static let maxUnknownKeys = 16

    static func read(_ body: [UInt8]) -> DemoHandler.DemoCommand? {
        body.withUnsafeBufferPointer { bytes in
            withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: maxUnknownKeys) { unknownKeys in
                var reader = Reader(bytes: bytes, unknownKeys: unknownKeys)
                return reader.command()
            }
        }
    }

    /// One field's JSON value, of the kinds read here.
    fileprivate enum Value {
        case string(Range<Int>)
        case int(Int)
        case bool(Bool)
        case null
    }

    /// `DemoCommand`'s JSON keys (its property names), in the order `store` numbers them.
    fileprivate static let keys = [
        "work_ms", "cpu_ms", "fail", "fail_until_attempt", "crash", "publish_to_exchange", "record_to",
    ].map { Array($0.utf8) }

    /// Stores `value` in the field `keys[field]` names; false when it has the wrong type.
    fileprivate static func store(_ value: Value, field: Int, of bytes: UnsafeBufferPointer<UInt8>, in command: inout DemoHandler.DemoCommand) -> Bool {
        switch field {
        case 0: set(value.int, value, &command.work_ms)
        case 1: set(value.int, value, &command.cpu_ms)
        case 2: set(value.string(in: bytes), value, &command.fail)
        case 3: set(value.int, value, &command.fail_until_attempt)
        case 4: set(value.bool, value, &command.crash)
        case 5: set(value.string(in: bytes), value, &command.publish_to_exchange)
        default: set(value.string(in: bytes), value, &command.record_to)
        }
    }

    /// `typed` is `value` read as the field's type. A `null` leaves the optional field `nil`, as
    /// `decodeIfPresent` does; another kind of value is a type mismatch `JSONDecoder` reports,
    /// so it is left to it (false).
    private static func set<T>(_ typed: T?, _ value: Value, _ field: inout T?) -> Bool {
        if let typed {
            field = typed
            return true
        }
        guard case .null = value else { return false }
        field = nil
        return true
    }
}

extension DemoCommandReader.Value {
    fileprivate var int: Int? {
        if case .int(let number) = self { number } else { nil }
    }

    fileprivate var bool: Bool? {
        if case .bool(let flag) = self { flag } else { nil }
    }

    fileprivate func string(in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard case .string(let range) = self else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

/// The cursor over one body. Every method returns `nil` (or false) as soon as the body leaves
/// the simple form `DemoCommandReader` reads.
private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    let unknownKeys: UnsafeMutableBufferPointer<Range<Int>>
    var unknownCount = 0
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, unknownKeys: UnsafeMutableBufferPointer<Range<Int>>) {
        self.bytes = bytes
        self.unknownKeys = unknownKeys
    }

    mutating func command() -> DemoHandler.DemoCommand? {
        var command = DemoHandler.DemoCommand()
        var seenFields: UInt32 = 0
        skipBlanks()
        guard take(UInt8(ascii: "{")) else { return nil }
        skipBlanks()
        if !take(UInt8(ascii: "}")) {
            while true {
                skipBlanks()
                guard let key = plainString() else { return nil }
                skipBlanks()
                guard take(UInt8(ascii: ":")) else { return nil }
                skipBlanks()
                guard let value = value() else { return nil }
                let keyBytes = UnsafeBufferPointer(rebasing: bytes[key])
                if let field = DemoCommandReader.keys.firstIndex(where: { $0.elementsEqual(keyBytes) }) {
                    let bit: UInt32 = 1 << field
                    guard seenFields & bit == 0 else { return nil }  // given twice
                    seenFields |= bit
                    guard DemoCommandReader.store(value, field: field, of: bytes, in: &command) else { return nil }
                } else {
                    guard rememberUnknown(key) else { return nil }
                }
                skipBlanks()
                if take(UInt8(ascii: "}")) { break }
                guard take(UInt8(ascii: ",")) else { return nil }
            }
        }
        skipBlanks()
        return index == bytes.count ? command : nil
    }

    /// False when this key was already given, or too many keys were.
    private mutating func rememberUnknown(_ key: Range<Int>) -> Bool {
        let keyBytes = UnsafeBufferPointer(rebasing: bytes[key])
        for seen in unknownKeys[..<unknownCount] where UnsafeBufferPointer(rebasing: bytes[seen]).elementsEqual(keyBytes) {
            return false
        }
        guard unknownCount < unknownKeys.count else { return false }
        unknownKeys[unknownCount] = key
        unknownCount += 1
        return true
    }

    private static let lowBits: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080
    private static let quotes = lowBits &* UInt64(UInt8(ascii: "\""))
    private static let backslashes = lowBits &* UInt64(UInt8(ascii: "\\"))

    /// Whether a byte of `word` is 0 (the classic bit trick: exact as a yes/no).
    private static func hasZeroByte(_ word: UInt64) -> Bool {
        (word &- lowBits) & ~word & highBits != 0
    }

    /// Whether a byte of `word` is below `limit` (at most 128).
    private static func hasByte(below limit: UInt8, in word: UInt64) -> Bool {
        (word &- lowBits &* UInt64(limit)) & ~word & highBits != 0
    }

    /// JSON's four blanks (RFC 8259 §2).
    private mutating func skipBlanks() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func take(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count,
              UnsafeBufferPointer(rebasing: bytes[index..<(index + count)])
                .elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count))
        else { return false }
        index += count
        return true
    }

    /// A string of printable ASCII without escapes: the range of its content.
    private mutating func plainString() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        // Eight bytes at a time while none of them ends the string or is refused (a quote, a
        // backslash, a control character, a non-ASCII byte); the loop below looks at the rest
        // byte by byte. The tests may give false positives (then the byte loop decides), never
        // false negatives.
        while index + 8 <= bytes.count {
            let word = UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self)
            guard word & Self.highBits == 0, !Self.hasByte(below: 0x20, in: word), !Self.hasZeroByte(word ^ Self.quotes),
                  !Self.hasZeroByte(word ^ Self.backslashes)
            else { break }
            index += 8
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { return start..<(index - 1) }
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
        }
        return nil
    }

    private mutating func value() -> DemoCommandReader.Value? {
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "\""): return plainString().map { .string($0) }
        case UInt8(ascii: "t"): return take("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return take("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return take("null") ? .null : nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return integer().map { .int($0) }
        default: return nil
        }
    }

    /// `-?(0|[1-9][0-9]*)`, at most 18 digits (always within `Int`), not `-0`, not followed by
    /// a fraction or an exponent.
    private mutating func integer() -> Int? {
        let negative = take(UInt8(ascii: "-"))
        let start = index
        var value = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            value = value &* 10 &+ Int(bytes[index] - UInt8(ascii: "0"))  // wraps past 18 digits, refused below
            index += 1
        }
        let digits = index - start
        guard digits > 0, digits <= 18, bytes[start] != UInt8(ascii: "0") || digits == 1, !(negative && value == 0) else {
            return nil
        }
        if index < bytes.count {
            let next = bytes[index]
            if next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E") { return nil }
        }
        return negative ? -value : value
    }
}
