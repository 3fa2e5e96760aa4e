import WarrenAMQP

/// One message's way through a factory and its handler, reduced to an outcome: make the
/// handler, decode, handle (under the per-message timeout), tear down. Never throws, so the
/// consumer settles every message from the outcome alone.
///
/// Runs on the handler worker task that took the message (see `HandlerPool`).
struct MessageProcessing: Sendable {
    private let run: @Sendable ([UInt8], MessageContext) async -> HandlerOutcome

    init<Factory: MessageHandlerFactory>(_ factory: Factory, timeout: Duration?) {
        run = { body, context in
            let handler: Factory.Handler
            do {
                handler = try await factory.makeHandler(context: context)
            } catch {
                return Task.isCancelled ? .cancelled : .failed(error)
            }
            let outcome: HandlerOutcome
            do {
                let message: Factory.Handler.Message
                do {
                    message = try handler.decode(body, context: context)
                } catch let error as UndecodableMessage {
                    throw error
                } catch {
                    throw UndecodableMessage("\(type(of: error)): \(error)")
                }
                if let timeout {
                    try await withHandlerTimeout(timeout) { try await handler.handle(message, context: context) }
                } else {
                    // No closure and no child task per message when there is no timeout.
                    try await handler.handle(message, context: context)
                }
                outcome = .succeeded
            } catch {
                outcome = Task.isCancelled && !(error is HandlerTimeout) ? .cancelled : .failed(error)
            }
            // Exactly once per handler made, before the message is settled.
            await factory.tearDown(handler, outcome: outcome, context: context)
            return outcome
        }
    }

    func callAsFunction(_ body: [UInt8], context: MessageContext) async -> HandlerOutcome {
        await run(body, context)
    }
}
