import Synchronization

/// Whether an error is a `PermanentError`, remembered by its type.
///
/// `error is any PermanentError` looks the conformance up on every call (a dynamic cast and the
/// runtime's conformance cache, about 600 instructions), and a failed message asks twice: the
/// handler loop (an immediate retry?) and its settlement. Conformance belongs to the type (a
/// generic type's arguments are part of it), so the answer is kept per type, for at most
/// `capacity` types; past that, each further type is asked again every time.
///
/// Thread-safe: called from any handler task.
enum PermanentErrorCheck {
    static let capacity = 256
    private static let answers = Mutex<[ObjectIdentifier: Bool]>([:])

    /// `error is any PermanentError`, from the cache when its type was seen.
    static func isPermanent(_ error: any Error) -> Bool {
        let key = ObjectIdentifier(type(of: error))
        if let known = answers.withLock({ $0[key] }) { return known }
        let permanent = error is any PermanentError
        answers.withLock { answers in
            if answers.count < capacity { answers[key] = permanent }
        }
        return permanent
    }

    /// How many types are remembered (for tests).
    static var count: Int { answers.withLock { $0.count } }
}
