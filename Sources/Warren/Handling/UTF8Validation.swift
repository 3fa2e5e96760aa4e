/// Strict UTF-8 validation of a message body, without copying it.
///
/// JSON exchanged between systems must be UTF-8 (RFC 8259 §8.1). `JSONDecoder` only checks the
/// strings it reads, so an ill-formed byte inside a field the message type ignores would
/// otherwise pass. Checked with the standard library's scalar parser, so overlong forms,
/// surrogates and code points above U+10FFFF are refused, as Unicode requires.
enum UTF8Validation {
    /// The offset of the first byte that does not start a well-formed UTF-8 sequence, or `nil`
    /// when all of `bytes` is UTF-8. One linear pass with an ASCII fast path; allocates nothing.
    static func firstInvalidOffset(in bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            // Thirty-two ASCII bytes at a time first: one test of four words or'd together.
            while offset + 32 <= buffer.count {
                let words = UnsafeRawPointer(buffer.baseAddress! + offset)
                let any = words.loadUnaligned(as: UInt64.self) | words.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    | words.loadUnaligned(fromByteOffset: 16, as: UInt64.self) | words.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                guard any & 0x8080_8080_8080_8080 == 0 else { break }
                offset += 32
            }
            while offset < buffer.count {
                // Eight ASCII bytes at a time (no high bit set): a JSON body is mostly ASCII.
                if offset + 8 <= buffer.count,
                   UnsafeRawPointer(buffer.baseAddress! + offset).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    offset += 8
                    continue
                }
                if buffer[offset] < 0x80 {
                    offset += 1
                    continue
                }
                var parser = Unicode.UTF8.ForwardParser()
                var iterator = buffer[offset...].makeIterator()
                switch parser.parseScalar(from: &iterator) {
                case .valid(let scalar):
                    offset += scalar.count
                case .error:
                    return offset
                case .emptyInput:
                    return nil
                }
            }
            return nil
        }
    }
}
