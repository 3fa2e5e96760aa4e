#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One metadata field of a line written on a hot path (`JSONLogHandler.writeLine`): a key fixed
/// in the code, and its value as text.
///
/// The key is a `StaticString`: it is written as it is, with no escaping, and compared by its
/// bytes. So a key must be ASCII with nothing JSON escapes (no quote, backslash or control
/// character), and must not be one of `LogFields.reserved`.
struct LogLineField {
    let key: StaticString
    let value: String

    init(_ key: StaticString, _ value: String) {
        self.key = key
        self.value = value
    }

    /// `base` and `line`, each sorted by key with each key once, merged into one such list; where
    /// both have a key, `line`'s field: the order and precedence `LogFields.merge` gives a
    /// dictionary of `base`'s fields overridden by `line`'s. A merge, not a sort: a line's fields
    /// come in two short runs already in order.
    static func merge(_ base: [LogLineField], _ line: [LogLineField]) -> [LogLineField] {
        var merged: [LogLineField] = []
        merged.reserveCapacity(base.count + line.count)
        var next = 0
        for field in line {
            while next < base.count {
                let order = compare(base[next].key, field.key)
                guard order <= 0 else { break }
                if order < 0 { merged.append(base[next]) }
                next += 1
            }
            merged.append(field)
        }
        merged += base[next...]
        return merged
    }

    /// The order of two keys by their bytes (negative, zero, positive): for ASCII the order of
    /// `String`'s `<`, which sorts the general path's fields.
    static func compare(_ left: StaticString, _ right: StaticString) -> Int {
        compare(bytes(of: left), bytes(of: right))
    }

    /// `key`'s UTF-8 bytes, where the literal stores them (valid for the whole run).
    static func bytes(of key: StaticString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
    }

    static func compare(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Int {
        let common = min(left.count, right.count)
        if common > 0, let leftStart = left.baseAddress, let rightStart = right.baseAddress {
            let order = memcmp(leftStart, rightStart, common)
            if order != 0 { return Int(order) }
        }
        return left.count - right.count
    }
}
