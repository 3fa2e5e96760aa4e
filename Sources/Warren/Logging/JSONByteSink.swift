/// Where `JSONText` writes UTF-8 bytes: a `[UInt8]`, or a ``LineBuffer`` (the failed
/// messages' outcome lines, where an array's append was a tenth of the line's instructions).
package protocol JSONByteSink: ~Copyable {
    mutating func append(_ byte: UInt8)
    mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>)
}

extension Array: JSONByteSink where Element == UInt8 {}
