import Synchronization

/// Values that depend only on a type, each computed once: a failed message's error type name
/// (`DeadLetterHeaders.errorTypeName`) and whether it is a `PermanentError`
/// (`PermanentErrorCheck`). Neither changes while the process runs, and a handler throws few
/// distinct error types.
///
/// Holds at most `capacity` values, so a program that makes endless generic error types cannot
/// grow it without bound; beyond that, values are computed on each call.
///
/// Thread-safe: called from any task.
final class PerTypeCache<Value: Sendable>: Sendable {
    /// A computed property: a generic type cannot have a static stored one.
    static var capacity: Int { 256 }
    private let values = Mutex<[ObjectIdentifier: Value]>([:])

    init() {}

    /// `type`'s cached value, else `compute()`'s (cached while there is room).
    func value(of type: any Any.Type, compute: () -> Value) -> Value {
        let key = ObjectIdentifier(type)
        if let value = values.withLock({ $0[key] }) { return value }
        let value = compute()
        values.withLock { values in
            if values.count < Self.capacity { values[key] = value }
        }
        return value
    }

    /// How many values are cached (for tests).
    var count: Int { values.withLock { $0.count } }
}
