/// Whether an error is a `PermanentError`, remembered by its type.
///
/// `error is any PermanentError` looks the conformance up on every call (a dynamic cast and the
/// runtime's conformance cache, about 600 instructions), and a failed message asks twice: the
/// handler loop (an immediate retry?) and its settlement. Conformance belongs to the type (a
/// generic type's arguments are part of it), so the answer is kept per type (`PerTypeCache`,
/// bounded like the error type names).
///
/// Thread-safe: called from any handler task.
enum PermanentErrorCheck {
    private static let answers = PerTypeCache<Bool>()

    /// `error is any PermanentError`, from the cache when its type was seen.
    static func isPermanent(_ error: any Error) -> Bool {
        answers.value(of: type(of: error)) { error is any PermanentError }
    }

    /// How many types are remembered (for tests).
    static var count: Int { answers.count }
}
