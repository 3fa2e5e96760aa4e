import ArgumentParser

/// `warren dlq peek`: the first dead-lettered messages as JSON lines, left in place.
struct DlqPeekCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peek",
        abstract: "Print the first messages of <queue>.dead as JSON lines, without removing them.",
        discussion: """
        One line per message: {"message_id", "reason", "redelivered", "properties" (only those set; \
        timestamp in RFC 3339), "headers" (x-death as JSON), "body"} with "body" as text when it is \
        valid UTF-8, else "body_base64".
        """
    )

    @OptionGroup var broker: BrokerOptions

    @Option(help: "How many messages to print (at most those in the queue).")
    var count = 10

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        let session = try await DlqSession.open(broker, command: "peek")
        let limit = min(count, session.initialCount)
        if limit > 0 {
            do {
                let prefetch = limit <= Int(UInt16.max) ? UInt16(limit) : nil
                try await DlqReader.read(
                    from: session.deadLetterQueue, on: session.connection, limit: limit, prefetch: prefetch
                ) { reader in
                    while let delivery = try await reader.next() {
                        print(DlqMessage.jsonLine(delivery))
                    }
                }
            } catch {
                throw await session.fail("reading '\(session.deadLetterQueue)' failed: \(error)")
            }
        }
        // Closing hands every message read back to the queue, in its place.
        await session.connection.close()
    }
}
