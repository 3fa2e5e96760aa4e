import WarrenAMQP

/// One message's way through a factory and its handler, reduced to an outcome: make the
/// handler, decode, handle (under the per-message timeout), tear down. Never throws, so the
/// consumer settles every message from the outcome alone.
///
/// Runs on the handler worker task that took the message (see `HandlerPool`).
struct MessageProcessing: Sendable {
    // `nonisolated(nonsending)`: runs on its caller's executor (the worker's) without the hop to
    // the generic executor a nonisolated async function makes on entry (an executor lookup and a
    // task switch per message, issue 17). The handler's own methods still run as they declare.
    private let run: nonisolated(nonsending) @Sendable ([UInt8], MessageContext) async -> HandlerOutcome

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
        // The message is the one value of the handler's (unknown) type kept across the `await`:
        // decoded by a synchronous helper straight into it, without temporaries that would each
        // be a task allocation here.
        let message: Handler.Message
        do {
            message = try decode(body, with: handler, context: context)
        } catch {
            return outcome(of: error)
        }
        do {
            if let timeout {
                try await withHandlerTimeout(timeout) { try await handler.handle(message, context: context) }
            } else {
                // No closure and no child task per message when there is no timeout.
                try await handler.handle(message, context: context)
            }
            return .succeeded
        } catch {
            return outcome(of: error)
        }
    }

    /// The handler's `decode`, any error it throws made an `UndecodableMessage`.
    private static func decode<Handler: MessageHandler>(
        _ body: [UInt8], with handler: Handler, context: MessageContext
    ) throws(UndecodableMessage) -> Handler.Message {
        do {
            return try handler.decode(body, context: context)
        } catch let error as UndecodableMessage {
            throw error
        } catch {
            throw UndecodableMessage("\(type(of: error)): \(error)")
        }
    }

    /// The outcome of a run that threw `error`: cancelled when the task was (at shutdown), unless
    /// the per-message timeout cancelled it.
    private static func outcome(of error: any Error) -> HandlerOutcome {
        Task.isCancelled && !(error is HandlerTimeout) ? .cancelled : .failed(error)
    }

    nonisolated(nonsending) func callAsFunction(_ body: [UInt8], context: MessageContext) async -> HandlerOutcome {
        await run(body, context)
    }
}
