import WarrenAMQP

/// One message's way through a factory and its handler, reduced to an outcome: make the
/// handler, decode, handle (under the per-message timeout), tear down. Never throws, so the
/// consumer settles every message from the outcome alone.
///
/// Runs on the handler worker task that took the message (see `HandlerPool`).
struct MessageProcessing: Sendable {
    private let run: @Sendable ([UInt8], MessageContext) async -> HandlerOutcome

    init<Factory: MessageHandlerFactory>(_ factory: Factory, timeout: Duration?) {
        if let shared = factory as? SharedHandlerFactory<Factory.Handler> {
            // One handler for every message (`WarrenConsumer(handler:)`): making it is returning it
            // and tearing it down does nothing, so the two async calls per message are skipped
            // (issue 17: each costs a task-frame allocation and a few executor checks).
            let handler = shared.handler
            run = { body, context in await Self.outcome(of: handler, body: body, context: context, timeout: timeout) }
            return
        }
        run = { body, context in
            let handler: Factory.Handler
            do {
                handler = try await factory.makeHandler(context: context)
            } catch {
                return Task.isCancelled ? .cancelled : .failed(error)
            }
            let outcome = await Self.outcome(of: handler, body: body, context: context, timeout: timeout)
            // Exactly once per handler made, before the message is settled.
            await factory.tearDown(handler, outcome: outcome, context: context)
            return outcome
        }
    }

    /// Decodes and handles one message (under the per-message timeout).
    @inline(__always)
    private static func outcome<Handler: MessageHandler>(
        of handler: Handler, body: [UInt8], context: MessageContext, timeout: Duration?
    ) async -> HandlerOutcome {
        do {
            let message: Handler.Message
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
            return .succeeded
        } catch {
            return Task.isCancelled && !(error is HandlerTimeout) ? .cancelled : .failed(error)
        }
    }

    func callAsFunction(_ body: [UInt8], context: MessageContext) async -> HandlerOutcome {
        await run(body, context)
    }
}
