import Foundation

/// Message counts of one queue, as `rabbitmqctl list_queues` reports them.
///
/// Exact for classic queues; for quorum queues they come from metrics refreshed every few
/// seconds, so only poll them for an eventual value (and never read 0 as "drained" early).
struct QueueCounts: Sendable, Equatable, CustomStringConvertible {
    let name: String
    let messages: Int
    let ready: Int
    let unacknowledged: Int
    let type: String

    var description: String {
        "\(name) (\(type)): messages \(messages), ready \(ready), unacked \(unacknowledged)"
    }
}

/// Access to the test broker from outside `warren`: `rabbitmqctl` for counts and users,
/// pika and amqp-tools as independent AMQP clients.
///
/// Each `rabbitmqctl` call costs the machine ~0.8 CPU-seconds: poll it at ≥ 1 s intervals.
struct Broker: Sendable {
    let env: TestEnvironment

    init(_ env: TestEnvironment) { self.env = env }

    // MARK: rabbitmqctl

    @discardableResult
    func rabbitmqctl(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ToolResult {
        try await runToolChecked(env.rabbitmqctl, arguments, timeout: timeout)
    }

    /// Counts of every queue on the vhost, keyed by name.
    func listQueues() async throws -> [String: QueueCounts] {
        let result = try await rabbitmqctl([
            "list_queues", "--quiet", "--no-table-headers",
            "name", "messages", "messages_ready", "messages_unacknowledged", "type",
        ])
        var queues: [String: QueueCounts] = [:]
        for line in result.stdout.split(separator: "\n") {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard columns.count >= 5, let messages = Int(columns[1]), let ready = Int(columns[2]),
                let unacked = Int(columns[3])
            else { continue }
            queues[columns[0]] = QueueCounts(
                name: columns[0], messages: messages, ready: ready, unacknowledged: unacked, type: columns[4])
        }
        return queues
    }

    func counts(of queue: String) async throws -> QueueCounts? {
        try await listQueues()[queue]
    }

    /// Polls `rabbitmqctl` (once a second) until `queue`'s counts satisfy `condition`.
    @discardableResult
    func waitForCounts(
        of queue: String,
        timeout: Duration = .seconds(20),
        _ what: String,
        _ condition: @escaping (QueueCounts) -> Bool
    ) async throws -> QueueCounts {
        var last: QueueCounts?
        return try await pollValue(
            timeout: timeout, interval: .seconds(1), "\(queue): \(what)",
            lastSeen: { last.map(\.description) ?? "queue not listed" }
        ) {
            last = try await counts(of: queue)
            return last.flatMap { condition($0) ? $0 : nil }
        }
    }

    /// Adds `user` with every permission on the default vhost, except writes where `write`
    /// (a regular expression over resource names, as `rabbitmqctl set_permissions` takes) says.
    func addUser(_ user: String, password: String, write: String = ".*") async throws {
        try await rabbitmqctl(["add_user", user, password])
        try await rabbitmqctl(["set_permissions", "-p", "/", user, ".*", write, ".*"])
    }

    func deleteUser(_ user: String) async {
        _ = try? await rabbitmqctl(["delete_user", user])
    }

    // MARK: Independent AMQP clients

    /// Deletes queues and exchanges; names that do not exist are ignored.
    func delete(queues: [String], exchanges: [String] = []) async {
        let pairs = queues.flatMap { ["queue", $0] } + exchanges.flatMap { ["exchange", $0] }
        do {
            try await runPika(Self.deleteScript, pairs)
        } catch {
            print("integration-test cleanup failed: \(error)")
        }
    }

    /// Retry delays the tests configure, beside the defaults: their queues are deleted with the topology.
    static let testRetryQueueSuffixes = ["1s", "10s", "1m", "100ms", "200ms", "300ms", "600ms", "30s"]

    /// Deletes what `warren` declares for `queue`: the queue, `queue.dlx`, `queue.dead` and the
    /// retry queues of the defaults and of `testRetryQueueSuffixes`.
    func deleteTopology(of queue: String) async {
        let retryQueues = Self.testRetryQueueSuffixes.map { "\(queue).retry.\($0)" }
        await delete(queues: [queue, queue + ".dead"] + retryQueues, exchanges: [queue + ".dlx"])
    }

    /// Publishes one message with librabbitmq's `amqp-publish` (no message id: the tool has no option for it).
    func amqpPublish(queue: String, body: String) async throws {
        try await runToolChecked(
            "amqp-publish",
            ["--url", env.amqpToolsURL, "--routing-key", queue, "--persistent",
             "--content-type", "application/json", "--body", body],
            timeout: .seconds(20))
    }

    @discardableResult
    private func runPika(_ script: String, _ arguments: [String]) async throws -> ToolResult {
        try await runToolChecked("python3", ["-c", script, env.amqpURL] + arguments, timeout: .seconds(30))
    }

    private static let deleteScript = """
        import sys, pika
        parameters = pika.URLParameters(sys.argv[1])
        connection = pika.BlockingConnection(parameters)
        arguments = sys.argv[2:]
        for kind, name in zip(arguments[0::2], arguments[1::2]):
            try:
                channel = connection.channel()
                if kind == 'queue':
                    channel.queue_delete(name)
                else:
                    channel.exchange_delete(name)
                channel.close()
            except Exception as error:
                print(f'{kind} {name}: {error!r}', file=sys.stderr)
                if connection.is_closed:
                    connection = pika.BlockingConnection(parameters)
        connection.close()
        """
}

extension Broker {
    /// Runs `body` with a fresh queue name `it.<label>.<random>`, then deletes whatever `warren`
    /// declared for it, whether `body` returned or threw.
    func withQueue<T>(_ label: String, _ body: (String) async throws -> T) async throws -> T {
        let queue = "it.\(label).\(uniqueSuffix())"
        return try await withCleanup {
            try await body(queue)
        } cleanup: {
            await deleteTopology(of: queue)
        }
    }
}

/// Runs `body`, then `cleanup`, whether `body` returned or threw (`defer` cannot `await`).
func withCleanup<T>(_ body: () async throws -> T, cleanup: () async -> Void) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        await cleanup()
        throw error
    }
    await cleanup()
    return result
}
