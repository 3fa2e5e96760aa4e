#if canImport(Glibc)
import Glibc
#endif

/// Starts the joinable OS thread that writes a ``LogOutput``'s lines: a thread of its own, not
/// one of Swift's cooperative pool, because it blocks in `write(2)` for as long as the reader
/// makes it.
enum LogWriterThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// - Returns: the thread, to be joined or detached by the caller; nil if `pthread_create`
    ///   failed (the process is out of threads or memory).
    static func start(_ run: @escaping @Sendable () -> Void) -> pthread_t? {
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, body)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(body).release()
            return nil
        }
        return thread
    }
}
