/// An order that decoded but breaks a business rule. Its description becomes the `reason` of
/// the worker's `message.dead_lettered` log line.
struct InvalidOrder: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
