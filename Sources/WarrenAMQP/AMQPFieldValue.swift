/// A value in an AMQP field table (message headers, queue arguments, client properties).
///
/// AMQP has many integer widths; they all decode to `.int`, which is encoded as a signed
/// 64-bit long (`l`), a type RabbitMQ accepts for every numeric argument.
public enum AMQPFieldValue: Sendable, Equatable, Hashable {
    /// A boolean (`t`).
    case bool(Bool)
    /// Any integer width, decoded to 64 bits; encoded as a signed 64-bit long (`l`).
    case int(Int64)
    /// A 32- or 64-bit float, decoded to `Double`; encoded as 64-bit (`d`).
    case double(Double)
    /// A long string (`S`), UTF-8.
    case string(String)
    /// A byte array (`x`).
    case bytes([UInt8])
    /// A timestamp (`T`): seconds since the Unix epoch.
    case timestamp(UInt64)
    /// A decimal (`D`): `value` × 10^-`scale`.
    case decimal(scale: UInt8, value: UInt32)
    /// A nested field table (`F`).
    case table(AMQPTable)
    /// A field array (`A`).
    case array([AMQPFieldValue])
    /// No value (`V`).
    case void
}

/// A field table: string keys to values.
public typealias AMQPTable = [String: AMQPFieldValue]

extension AMQPFieldValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    /// `"text"` is `.string("text")`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// `42` is `.int(42)`.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// `true` is `.bool(true)`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension AMQPFieldValue: CustomStringConvertible {
    /// A short human-readable rendering, for logs.
    public var description: String {
        switch self {
        case .bool(let v): return String(v)
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .string(let v): return v
        case .bytes(let v): return String(decoding: v, as: UTF8.self)
        case .timestamp(let v): return String(v)
        case .decimal(let scale, let value): return "\(value)e-\(scale)"
        case .table(let t): return "{" + t.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .void: return "void"
        }
    }
}
