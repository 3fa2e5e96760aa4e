import ArgumentParser

/// `warren dlq stats`: how many dead-lettered messages there are, per reason.
struct DlqStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Count the messages in <queue>.dead per reason, without removing any.",
        discussion: """
        The reason is the x-warren-error-type header, else the reason of the first x-death entry \
        (rejected, expired, delivery_limit, ...), else unknown. Reads every message that was in \
        <queue>.dead at the start, holding all of them unacked, then gives them all back.
        """
    )

    @OptionGroup var broker: BrokerOptions

    @Flag(help: "Print one JSON object: {\"queue\":…,\"total\":…,\"reasons\":{…}}.")
    var json = false

    func run() async throws {
        let session = try await DlqSession.open(broker, command: "stats")
        var counts: [String: Int] = [:]
        var total = 0
        if session.initialCount > 0 {
            do {
                // Every message is held unacked until the end, so the prefetch must cover all.
                let prefetch = session.initialCount <= Int(UInt16.max) ? UInt16(session.initialCount) : nil
                try await DlqReader.read(
                    from: session.deadLetterQueue, on: session.connection, limit: session.initialCount, prefetch: prefetch
                ) { reader in
                    while let delivery = try await reader.next() {
                        counts[DlqMessage.reason(of: delivery.properties), default: 0] += 1
                        total += 1
                    }
                }
            } catch {
                throw await session.fail("reading '\(session.deadLetterQueue)' failed: \(error)")
            }
        }
        // Closing hands every held message back to the queue.
        await session.connection.close()

        let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        if json {
            let reasons = DlqJSON.object(ranked.map { ($0.key, String($0.value)) })
            print(DlqJSON.object([
                ("queue", DlqJSON.string(session.deadLetterQueue)), ("total", String(total)), ("reasons", reasons),
            ]))
        } else {
            let width = String(total).count
            func line(_ count: Int, _ label: String) -> String {
                let number = String(count)
                return "  " + String(repeating: " ", count: width - number.count) + number + "  " + label
            }
            for (reason, count) in ranked { print(line(count, reason)) }
            print(line(total, "total"))
        }
    }
}
