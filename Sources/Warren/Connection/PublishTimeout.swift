/// A publish was not confirmed within its timeout. The broker may still have stored the
/// message: the outcome is unknown, not a failure.
public struct PublishTimeout: Error, Sendable, CustomStringConvertible {
    public var timeout: Duration

    public var description: String { "publish not confirmed within \(timeout); the broker may still store the message" }
}
