#if canImport(Glibc)
import Glibc
#endif

extension LogOutput {
    /// Writes all of `bytes` to `fd`, blocking the calling thread (the writer thread) for as long
    /// as the descriptor makes it wait.
    /// - Returns: false when the descriptor failed and the rest of `bytes` was discarded: there
    ///   is nothing better to do with a log line.
    static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
        guard var next = bytes.baseAddress else { return true }
        var left = bytes.count
        while left > 0 {
            let written = Glibc.write(fd, next, left)
            if written > 0 {
                next += written
                left -= written
                continue
            }
            // write(2) returns 0 only for a zero count; treat it as a failure rather than loop.
            guard written < 0 else { return false }
            switch errno {
            case EINTR:
                continue
            case EAGAIN:  // == EWOULDBLOCK on Linux: the descriptor was made non-blocking.
                waitUntilWritable(fd)
            default:
                return false
            }
        }
        return true
    }

    /// Sleeps until `fd` can take bytes again. Without a timeout: this thread has nothing else
    /// to do, and `poll` also returns on `POLLERR`/`POLLHUP`, after which `write` reports the error.
    private static func waitUntilWritable(_ fd: Int32) {
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&entry, 1, -1)
    }
}
