extension AMQPError {
    /// `error` itself when it is an `AMQPError`, else a `.library` error naming `context`.
    init(_ error: any Error, context: String) {
        if let error = error as? AMQPError {
            self = error
        } else {
            self = .library(status: 0, message: "\(error)", context: context)
        }
    }
}
