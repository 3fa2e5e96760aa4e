/// A value in an AMQP field table (message headers, queue arguments, client properties).
///
/// AMQP has many integer widths; they all decode to `.int`, which is encoded as a signed
/// 64-bit long (`l`), a type RabbitMQ accepts for every numeric argument.
public indirect enum AMQPFieldValue: Sendable, Equatable, Hashable {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case timestamp(UInt64)
    case decimal(scale: UInt8, value: UInt32)
    case table(AMQPTable)
    case array([AMQPFieldValue])
    case void
}

/// A field table: string keys to values.
public typealias AMQPTable = [String: AMQPFieldValue]

extension AMQPFieldValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
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
