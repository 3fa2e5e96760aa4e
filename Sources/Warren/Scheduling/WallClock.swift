#if canImport(Glibc)
import Glibc
#endif

/// The real-time clock, which ticks are defined against (unlike `ContinuousClock`, it is the
/// same on every replica, give or take NTP).
enum WallClock {
    /// Milliseconds since the Unix epoch.
    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec / 1_000_000)
    }

    /// Sleeps until the wall clock reaches `epochSeconds` (cancellable). Sleeps in slices of at
    /// most 30 s and re-reads the clock, so a clock step (NTP) moves the wake-up with it.
    static func sleep(untilEpochSeconds epochSeconds: Int64) async throws {
        while true {
            let remaining = epochSeconds * 1000 - nowMilliseconds()
            if remaining <= 0 { return }
            try await Task.sleep(for: .milliseconds(min(remaining, 30_000)))
        }
    }
}
