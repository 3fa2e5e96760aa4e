import Testing
@testable import Warren

@Suite struct UTF8ValidationTests {
    @Test(arguments: [
        "", "{}", #"{"a":"b"}"#, "{\"name\":\"Zoë 東京 😀\"}", "\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}",
    ])
    func wellFormedTextPasses(text: String) {
        #expect(UTF8Validation.firstInvalidOffset(in: Array(text.utf8)) == nil)
    }

    /// Each case: bytes and the offset of the first byte that does not start a well-formed sequence.
    @Test(arguments: [
        ([0xFF], 0),
        ([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D], 6),  // {"a":"\xff\xfe"}
        ([0x61, 0x80], 1),  // lone continuation byte
        ([0x61, 0xC3], 1),  // truncated two-byte sequence at the end
        ([0xC3, 0x28], 0),  // lead byte followed by a non-continuation
        ([0xC0, 0xAF], 0),  // overlong '/'
        ([0xE0, 0x80, 0xAF], 0),  // overlong three-byte form
        ([0xED, 0xA0, 0x80], 0),  // UTF-16 surrogate U+D800
        ([0xF4, 0x90, 0x80, 0x80], 0),  // above U+10FFFF
        ([0xC3, 0xA9, 0xF0, 0x9F, 0x98], 2),  // é, then a truncated emoji
    ] as [([UInt8], Int)])
    func illFormedBytesAreFound(bytes: [UInt8], offset: Int) {
        #expect(UTF8Validation.firstInvalidOffset(in: bytes) == offset)
    }

    /// ASCII is skipped thirty-two, then eight bytes at a time: an ill-formed byte is still
    /// found at its exact offset wherever it sits in or after such a run, and multi-byte text
    /// after one is checked.
    @Test func illFormedBytesAreFoundInsideLongASCIIRuns() {
        for length in 0..<80 {
            for position in 0...length {
                var bytes = Array(repeating: UInt8(ascii: "x"), count: length)
                bytes.insert(0xFF, at: position)
                #expect(UTF8Validation.firstInvalidOffset(in: bytes) == position, "length \(length), position \(position)")
            }
            let text = String(repeating: "x", count: length) + "é😀" + String(repeating: "y", count: length)
            #expect(UTF8Validation.firstInvalidOffset(in: Array(text.utf8)) == nil)
        }
    }
}
