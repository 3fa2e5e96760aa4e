/// Where `JSONText` writes UTF-8 bytes: a `[UInt8]`, or a ``LineBuffer`` (the failed
/// messages' outcome lines, where appending to an array was about a quarter of the line's
/// instructions: some 4,000 of 17,000).
package protocol JSONByteSink: ~Copyable {
    mutating func append(_ byte: UInt8)
    mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>)
}

extension Array: JSONByteSink where Element == UInt8 {}
