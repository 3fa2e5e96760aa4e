/// What a body run on the owner thread returned (`AMQPConnection.perform`), handed to the
/// waiting task beside its `OneShot`, which carries only success or an error.
///
/// Set on the owner thread before the `OneShot` completes with success and taken by the waiter
/// after its `wait()` returned: the `OneShot`'s lock orders the two, so no lock of its own.
final class PerformedValue<Value: Sendable>: @unchecked Sendable {
    // @unchecked: written once, before the OneShot's completion; read once, after its wait.
    private var value: Value?

    init() {}

    func set(_ value: Value) {
        self.value = value
    }

    /// The value set. Only after the `OneShot` completed with success, which happens only once
    /// `set` ran.
    func take() -> Value {
        guard let value else { preconditionFailure("PerformedValue taken before it was set") }
        return value
    }
}
