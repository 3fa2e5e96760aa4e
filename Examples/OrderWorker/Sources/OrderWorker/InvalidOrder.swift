import Warren

/// An order that decoded but breaks a business rule. Retrying cannot fix it, so it is a
/// `PermanentError`: dead-lettered at once, with its description as the `reason` of the
/// worker's `message.dead_lettered` log line and in `x-warren-error-message`.
struct InvalidOrder: PermanentError, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
