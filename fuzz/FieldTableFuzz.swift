import CRabbitMQ
@testable import WarrenAMQP

// Fuzz target for field-table conversion (`CArena.table`, `AMQPTable(cTable:)`) through
// librabbitmq's wire codec (`amqp_encode_table`, `amqp_decode_table`). Every input is used twice:
//
// - as wire bytes (up to libFuzzer's default 4096: ASan's larger stack frames overflow on the
//   26,000 nested arrays a 128 KiB frame can hold, which the plain build converts fine),
//   decoded by librabbitmq the way a delivery's headers are: the conversion to
//   Swift must not crash, and what it yields must survive Swift -> C -> bytes -> C -> Swift
//   unchanged (every integer width becomes `.int`, `f` becomes `.double`, and then stays so);
// - as a recipe for a Swift table (any values, nested up to 4 deep, keys of at most 255 UTF-8
//   bytes as AMQP requires), which must come back from the same round trip identical, NaN
//   payloads included.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFieldTable(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let decoded = decode(Array(UnsafeBufferPointer(start: data, count: size))) {
        let again = roundTrip(decoded)
        check(identical(.table(again), .table(decoded)), "decoded table \(decoded) changed in a round trip: \(again)")
    }
    var input = FuzzInput(data, size)
    let table = makeTable(&input, depth: 0)
    let back = roundTrip(table)
    check(identical(.table(back), .table(table)), "table \(table) changed in a round trip: \(back)")
    return 0
}

/// librabbitmq's decoding of `bytes` as a field table, converted to Swift; `nil` when
/// librabbitmq rejects the bytes.
private func decode(_ bytes: [UInt8]) -> AMQPTable? {
    var pool = amqp_pool_t()
    init_amqp_pool(&pool, 4096)
    defer { empty_amqp_pool(&pool) }
    var table = amqp_table_t()
    var offset = 0
    let status = bytes.withUnsafeBytes { buffer in
        amqp_decode_table(
            amqp_bytes_t(len: buffer.count, bytes: UnsafeMutableRawPointer(mutating: buffer.baseAddress)),
            &pool, &table, &offset)
    }
    return status == 0 ? AMQPTable(cTable: table) : nil
}

private func encode(_ table: AMQPTable) -> [UInt8] {
    let arena = CArena()
    var cTable = arena.table(table)
    // Grows the buffer until the table fits. librabbitmq reports a full buffer as
    // TABLE_TOO_BIG or, when a field's type byte does not fit, as BAD_AMQP_DATA.
    var capacity = 4096
    while true {
        var buffer = [UInt8](repeating: 0, count: capacity)
        var offset = 0
        let status = buffer.withUnsafeMutableBytes {
            amqp_encode_table(amqp_bytes_t(len: $0.count, bytes: $0.baseAddress), &cTable, &offset)
        }
        if status == 0 { return Array(buffer[..<offset]) }
        check(capacity < 1 << 26, "amqp_encode_table failed (\(status)) for \(table)")
        capacity *= 4
    }
}

private func roundTrip(_ table: AMQPTable) -> AMQPTable {
    let bytes = encode(table)
    guard let back = decode(bytes) else { fatalError("librabbitmq cannot decode its own encoding of \(table): \(bytes)") }
    return back
}

/// `==`, except that doubles compare by bit pattern (NaN is not equal to itself).
private func identical(_ a: AMQPFieldValue, _ b: AMQPFieldValue) -> Bool {
    switch (a, b) {
    case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern
    case (.table(let x), .table(let y)):
        return x.count == y.count && x.allSatisfy { key, value in y[key].map { identical(value, $0) } ?? false }
    case (.array(let x), .array(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
    default: return a == b
    }
}

private func makeTable(_ input: inout FuzzInput, depth: Int) -> AMQPTable {
    var table: AMQPTable = [:]
    for _ in 0..<input.choice(8) {
        // Up to 85 bytes, so at most 255 once invalid UTF-8 is repaired (3 bytes per U+FFFD).
        let key = String(decoding: input.bytes(upTo: 85), as: UTF8.self)
        table[key] = makeValue(&input, depth: depth)
    }
    return table
}

private func makeValue(_ input: inout FuzzInput, depth: Int) -> AMQPFieldValue {
    switch input.choice(depth < 4 ? 10 : 8) {
    case 0: return .bool(input.byte() & 1 == 1)
    case 1: return .int(Int64(bitPattern: input.uint64()))
    case 2: return .double(Double(bitPattern: input.uint64()))
    case 3: return .string(input.string())
    case 4: return .bytes(input.bytes())
    case 5: return .timestamp(input.uint64())
    case 6: return .decimal(scale: input.byte(), value: UInt32(truncatingIfNeeded: input.uint64()))
    case 7: return .void
    case 8: return .table(makeTable(&input, depth: depth + 1))
    default: return .array((0..<input.choice(8)).map { _ in makeValue(&input, depth: depth + 1) })
    }
}
