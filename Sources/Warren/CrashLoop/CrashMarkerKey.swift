/// Names a message across its redeliveries for `CrashGuard`: a 64-bit FNV-1a hash of its
/// message id (when it has one) and body. Redeliveries keep both, so they share the key;
/// two different messages sharing it would need equal ids and bodies (duplicates) or a hash
/// collision, and would then only share a crash count.
struct CrashMarkerKey: Sendable, Hashable {
    let value: UInt64

    init(messageID: String?, body: [UInt8]) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        if let messageID {
            for byte in messageID.utf8 { mix(byte) }
        }
        // Separates "id + body" from a longer id with a shorter body.
        mix(0xff)
        for byte in body { mix(byte) }
        value = hash
    }

    /// 16 lowercase hex digits.
    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
