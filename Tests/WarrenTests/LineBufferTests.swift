import Testing
@testable import Warren

@Suite struct LineBufferTests {
    /// Growing past its first allocation (many times over) keeps every byte in order, and what
    /// `JSONText` writes into it is what it writes into an array.
    @Test func holdsWhatAnArrayHoldsAcrossGrowth() {
        var buffer = LineBuffer(capacity: 16)
        var array: [UInt8] = []
        let texts = ["", "plain", "quote \" and \\ and \n", "日本\u{2028}", String(repeating: "x", count: 300)]
        for round in 0..<20 {
            let text = texts[round % texts.count]
            JSONText.appendString(text, to: &buffer)
            JSONText.appendString(text, to: &array)
            buffer.append(UInt8(truncatingIfNeeded: round))
            array.append(UInt8(truncatingIfNeeded: round))
        }
        #expect(buffer.count == array.count)
        #expect(buffer.withBytes { Array($0) } == array)
        var empty = LineBuffer(capacity: 0)
        empty.append(contentsOf: UnsafeBufferPointer(start: nil, count: 0))
        #expect(empty.count == 0 && empty.withBytes { $0.isEmpty })
    }
}
