/// Stops the fuzz target with `message` when a property does not hold. Unlike `precondition`,
/// whose message `-O` drops, the message always reaches the crash report.
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}
