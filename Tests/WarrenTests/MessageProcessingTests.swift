import Logging
import Synchronization
import Testing
import WarrenAMQP
@testable import Warren

/// `MessageProcessing` reduces a message's run to an outcome the same way for one shared handler
/// (`WarrenConsumer(handler:)`, which skips the factory's calls) as for a factory that makes a
/// handler per message and tears it down.
@Suite struct MessageProcessingTests {
    struct Order: Decodable, Sendable {
        var fail: Bool
    }

    struct OrderHandler: MessageHandler {
        struct Refused: Error {}
        func handle(_ order: Order, context: MessageContext) async throws {
            if order.fail { throw Refused() }
        }
    }

    /// Counts what it made and tore down, and with which outcome.
    final class CountingFactory: MessageHandlerFactory, Sendable {
        let made = Atomic(0)
        let tornDown = Mutex<[String]>([])
        func makeHandler(context: MessageContext) async throws -> OrderHandler {
            made.add(1, ordering: .relaxed)
            return OrderHandler()
        }
        func tearDown(_ handler: OrderHandler, outcome: HandlerOutcome, context: MessageContext) async {
            tornDown.withLock { $0.append(outcome.description) }
        }
    }

    private let context = MessageContext(queue: "q", logger: Logger(label: "test"))

    private static func describe(_ outcome: HandlerOutcome) -> String {
        switch outcome {
        case .succeeded: "succeeded"
        case .cancelled: "cancelled"
        case .failed(is UndecodableMessage): "undecodable"
        case .failed(let error): "failed \(type(of: error))"
        }
    }

    @Test func aSharedHandlerAndAFactoryGiveTheSameOutcomes() async {
        let bodies = [#"{"fail":false}"#, #"{"fail":true}"#, "not json"].map { Array($0.utf8) }
        let shared = MessageProcessing(SharedHandlerFactory(handler: OrderHandler()), timeout: nil)
        let factory = CountingFactory()
        let perMessage = MessageProcessing(factory, timeout: nil)
        var sharedOutcomes: [String] = []
        var factoryOutcomes: [String] = []
        for body in bodies {
            sharedOutcomes.append(Self.describe(await shared(body, context: context)))
            factoryOutcomes.append(Self.describe(await perMessage(body, context: context)))
        }
        #expect(sharedOutcomes == ["succeeded", "failed Refused", "undecodable"])
        #expect(factoryOutcomes == sharedOutcomes)
        // Made and torn down exactly once per message, after its outcome was known.
        #expect(factory.made.load(ordering: .relaxed) == 3)
        #expect(factory.tornDown.withLock { $0.count } == 3)
    }

    @Test func aSharedHandlerRunsUnderTheTimeout() async {
        struct Slow: MessageHandler {
            func handle(_ message: [UInt8], context: MessageContext) async throws {
                try await Task.sleep(for: .seconds(5))
            }
        }
        let processing = MessageProcessing(SharedHandlerFactory(handler: Slow()), timeout: .milliseconds(20))
        #expect(Self.describe(await processing([], context: context)) == "failed HandlerTimeout")
    }
}
