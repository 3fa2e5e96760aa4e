/// Reads typed values from a fuzzer's input bytes, for targets that build structured values
/// (field tables, settings) instead of parsing the bytes as one text. Running out of bytes
/// yields zeros and empty values, so every input maps to exactly one value: the same input
/// always builds the same value, which libFuzzer needs to reproduce a crash.
struct FuzzInput {
    private var bytes: ArraySlice<UInt8>

    init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))[...]
    }

    var isEmpty: Bool { bytes.isEmpty }

    mutating func byte() -> UInt8 {
        bytes.popFirst() ?? 0
    }

    /// A number in `0..<count` (`count` from 1 to 256).
    mutating func choice(_ count: Int) -> Int {
        Int(byte()) % count
    }

    mutating func uint64() -> UInt64 {
        (0..<8).reduce(0) { value, _ in value << 8 | UInt64(byte()) }
    }

    /// Up to `limit` raw bytes (at most 255), length first.
    mutating func bytes(upTo limit: Int = 255) -> [UInt8] {
        let count = min(Int(byte()), limit, bytes.count)
        defer { bytes = bytes.dropFirst(count) }
        return Array(bytes.prefix(count))
    }

    /// A string from up to `limit` bytes, invalid UTF-8 repaired (Swift strings are always valid).
    mutating func string(upTo limit: Int = 255) -> String {
        String(decoding: bytes(upTo: limit), as: UTF8.self)
    }
}
