import Foundation

/// A small append-only file of orders, one JSON line each: the example's stand-in for a
/// database with transactions.
///
/// `begin()` opens a transaction, `stage` adds orders to it, `commit` writes and fsyncs them,
/// `rollback` drops them. Committing is idempotent by `orderID`: an order already in the file
/// is not written again. That is what makes at-least-once delivery safe, since the broker
/// redelivers a message whose ack was lost (say the worker died between commit and ack), and
/// publishers retry too.
///
/// - Important: File I/O blocks, so the actor runs on its own thread (`QueueExecutor`),
///   never on the cooperative pool that Warren's handlers share.
actor OrderLedger {
    private let executor = QueueExecutor(label: "order-ledger")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let file: FileHandle
    private var recorded: Set<String>
    private var open: [Int: [OrderPlaced]] = [:]
    private var lastTransactionID = 0

    /// Opens the ledger at `path`, creating an empty one if there is none, and reads the
    /// order ids already recorded so that a restarted worker still skips duplicates.
    init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        if !FileManager.default.fileExists(atPath: path) { try Data().write(to: url) }
        let contents = try Data(contentsOf: url)
        recorded = Set(contents.split(separator: UInt8(ascii: "\n")).compactMap {
            // A line torn by a crash mid-write is not a recorded order.
            try? JSONDecoder().decode(OrderPlaced.self, from: Data($0)).orderID
        })
        file = try FileHandle(forWritingTo: url)
        try file.seekToEnd()
        // Start the next line on a line of its own, after such a torn line.
        if contents.last.map({ $0 != UInt8(ascii: "\n") }) == true { try file.write(contentsOf: Data("\n".utf8)) }
    }

    func begin() -> Transaction {
        lastTransactionID += 1
        open[lastTransactionID] = []
        return Transaction(id: lastTransactionID, ledger: self)
    }

    func stage(_ order: OrderPlaced, in transaction: Int) throws(OrderLedgerError) {
        guard open[transaction] != nil else { throw .transactionClosed(transaction) }
        open[transaction]?.append(order)
    }

    /// Appends the transaction's orders that are not recorded yet and fsyncs; returns how many
    /// were written (0: all were duplicates). A failed write leaves the transaction open, for
    /// `rollback`.
    func commit(_ transaction: Int) throws -> Int {
        guard let orders = open[transaction] else { throw OrderLedgerError.transactionClosed(transaction) }
        var lines = Data()
        var written: Set<String> = []
        for order in orders where !recorded.contains(order.orderID) && !written.contains(order.orderID) {
            lines += try JSONEncoder().encode(order) + Data("\n".utf8)
            written.insert(order.orderID)
        }
        if !lines.isEmpty {
            try file.write(contentsOf: lines)
            try file.synchronize()
        }
        recorded.formUnion(written)
        open[transaction] = nil
        return written.count
    }

    /// Drops the transaction's staged orders; false when it was already committed.
    func rollback(_ transaction: Int) -> Bool {
        open.removeValue(forKey: transaction) != nil
    }
}
