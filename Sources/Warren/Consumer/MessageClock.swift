/// The continuous clock as a fixed-size value: the time since a process-wide origin, as a
/// `Duration`, for the instants a message's run keeps across its handler's `await`.
///
/// Why not `ContinuousClock.Instant`: it is a resilient standard library type of unknown size, so
/// every `Instant` (and every struct holding one, such as `MessageContext`) that an async function
/// keeps across a suspension costs a task allocation and value-witness copies: three allocations
/// per message on the success path (issue 17). `Duration` is frozen, so these are plain fields
/// of the caller's frame. Thread-safe (the origin is set once, on first use).
enum MessageClock {
    /// The instant all readings count from: the first use in the process.
    static let origin = ContinuousClock.now

    // Not inlined: in an async caller, even a temporary `Instant` would be a task allocation;
    // in a synchronous function it is on the C stack.
    /// Now, as the time since `origin`.
    @inline(never)
    static func now() -> Duration { origin.duration(to: .now) }

    /// The instant `reading` stands for.
    @inline(never)
    static func instant(_ reading: Duration) -> ContinuousClock.Instant { origin.advanced(by: reading) }
}
