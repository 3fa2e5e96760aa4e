import WarrenAMQP

extension AMQPFieldValue {
    /// The value as text when it is a string (long strings may arrive as bytes); else `nil`.
    var text: String? {
        switch self {
        case .string(let value): value
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }
}
