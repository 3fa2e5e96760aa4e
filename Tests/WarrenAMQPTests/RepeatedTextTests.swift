import CRabbitMQ
import Testing
@testable import WarrenAMQP

/// `RepeatedText`: a delivery field's text is decoded again only when its bytes change.
@Suite struct RepeatedTextTests {
    private func text(_ cache: inout RepeatedText, _ value: String) -> String {
        var bytes = Array(value.utf8)
        return bytes.withUnsafeMutableBytes { buffer in
            cache.text(of: amqp_bytes_t(len: buffer.count, bytes: buffer.baseAddress))
        }
    }

    @Test func repeatsAreTheSameTextAndChangesAreSeen() {
        var cache = RepeatedText()
        let tag = "amq.ctag-0123456789abcdefghijkl"
        #expect(text(&cache, tag) == tag)
        #expect(text(&cache, tag) == tag)
        #expect(text(&cache, "amq.ctag-0123456789abcdefghijkX") == "amq.ctag-0123456789abcdefghijkX", "same length, other bytes")
        #expect(text(&cache, "short") == "short")
        #expect(text(&cache, "") == "")
        #expect(text(&cache, "short") == "short")
    }
}
