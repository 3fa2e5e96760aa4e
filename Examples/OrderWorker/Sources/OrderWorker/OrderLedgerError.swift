/// A transaction was used after it was committed or rolled back: a bug in the handler.
enum OrderLedgerError: Error, CustomStringConvertible {
    case transactionClosed(Int)

    var description: String {
        switch self {
        case .transactionClosed(let id): "ledger transaction \(id) is already closed"
        }
    }
}
