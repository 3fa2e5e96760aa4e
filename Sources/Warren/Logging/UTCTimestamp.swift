#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 times in UTC, without Foundation: the `ts` of every log line, and the times the
/// `warren` tools print and stamp into headers. Package-wide so every output agrees.
package enum UTCTimestamp {
    /// Now, with milliseconds: `2026-11-21T20:40:19.123Z`.
    package static func now() -> String {
        let now = realtime()
        return format(seconds: now.seconds, milliseconds: now.milliseconds)
    }

    /// An AMQP timestamp (whole seconds since the Unix epoch): `2026-11-21T20:40:19Z`.
    package static func format(epochSeconds: UInt64) -> String {
        format(seconds: Int(clamping: epochSeconds), milliseconds: nil)
    }

    /// Written digit by digit into one stack buffer: every log line and every dead-lettered
    /// copy takes a timestamp, and padding each part as a `String` of its own was a dozen
    /// allocations per call (2 % of the failure path's CPU, where both happen per message).
    static func format(seconds: Int, milliseconds: Int?) -> String {
        let (parts, year) = utc(seconds)
        // A year outside 0...9999 (not an RFC 3339 time) keeps the general padding below.
        guard (0...9999).contains(year) else {
            func pad(_ value: Int, _ width: Int) -> String {
                let text = String(value)
                return String(repeating: "0", count: max(0, width - text.count)) + text
            }
            let fraction = milliseconds.map { "." + pad($0, 3) } ?? ""
            return "\(pad(year, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
                + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))\(fraction)Z"
        }
        let length = milliseconds == nil ? 20 : 24
        return String(unsafeUninitializedCapacity: length) { buffer in
            write(parts, year: year, milliseconds: milliseconds, into: buffer)
        }
    }

    /// Appends now, as ``now()`` writes it, to a log line's bytes: without the `String` (24
    /// bytes, too long to be stored inline) that a line per failed message would allocate.
    static func appendNow<Sink: JSONByteSink & ~Copyable>(to out: inout Sink) {
        let now = realtime()
        let (parts, year) = utc(now.seconds)
        guard (0...9999).contains(year) else {
            return JSONText.appendRaw(format(seconds: now.seconds, milliseconds: now.milliseconds), to: &out)
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            let count = write(parts, year: year, milliseconds: now.milliseconds, into: buffer)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// The wall clock, in whole seconds since the Unix epoch and the milliseconds past them.
    private static func realtime() -> (seconds: Int, milliseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (Int(now.tv_sec), Int(now.tv_nsec / 1_000_000))
    }

    /// `seconds` since the Unix epoch broken down in UTC, with the calendar year.
    private static func utc(_ seconds: Int) -> (parts: tm, year: Int) {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return (parts, Int(parts.tm_year) + 1900)
    }

    /// Writes `parts` (whose `year`, within 0...9999, is given) and `milliseconds` if any into
    /// `buffer` (at least 24 bytes); returns how many bytes it wrote.
    private static func write(_ parts: tm, year: Int, milliseconds: Int?, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var index = 0
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value / divisor % 10)
                index += 1
                divisor /= 10
            }
        }
        func character(_ ascii: Unicode.Scalar) {
            buffer[index] = UInt8(ascii: ascii)
            index += 1
        }
        digits(year, 4); character("-"); digits(Int(parts.tm_mon) + 1, 2); character("-"); digits(Int(parts.tm_mday), 2)
        character("T"); digits(Int(parts.tm_hour), 2); character(":"); digits(Int(parts.tm_min), 2); character(":")
        digits(Int(parts.tm_sec), 2)
        if let milliseconds {
            character(".")
            digits(milliseconds, 3)
        }
        character("Z")
        return index
    }
}
