/// An error's description for the failure path's outcome line (`reason`) and its copy's
/// `x-warren-error-message`: what `"\(error)"` gives, at a third of the cost.
///
/// The generic interpolation first asks whether the error is `TextOutputStreamable` (a dynamic
/// cast that fails for nearly every error type), then whether it is `CustomStringConvertible`,
/// and a `PermanentFailure` describes itself by interpolating its wrapped error once more: about
/// 7,800 instructions per failed message. Here a `PermanentFailure` is described by its wrapped
/// error directly (the same text), and an error that describes itself is asked at once. The one
/// difference: an error type that is both `TextOutputStreamable` and `CustomStringConvertible`,
/// with different texts, is described by `description` here, by `write(to:)` in an
/// interpolation. Others fall back to `String(describing:)`, the interpolation's own path.
enum ErrorDescription {
    static func of(_ error: any Error) -> String {
        let reported = PermanentFailure.reported(error)
        if let described = reported as? any CustomStringConvertible { return described.description }
        return String(describing: reported)
    }
}
