#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 times in UTC, without Foundation: the `ts` of every log line, and the times the
/// `warren` tools print and stamp into headers. Package-wide so every output agrees.
package enum UTCTimestamp {
    /// Now, with milliseconds: `2026-11-21T20:40:19.123Z`.
    package static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return format(seconds: Int(now.tv_sec), milliseconds: Int(now.tv_nsec / 1_000_000))
    }

    /// An AMQP timestamp (whole seconds since the Unix epoch): `2026-11-21T20:40:19Z`.
    package static func format(epochSeconds: UInt64) -> String {
        format(seconds: Int(clamping: epochSeconds), milliseconds: nil)
    }

    private static func format(seconds: Int, milliseconds: Int?) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let fraction = milliseconds.map { "." + pad($0, 3) } ?? ""
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))\(fraction)Z"
    }
}
