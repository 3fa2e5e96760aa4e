import Synchronization

/// Names of types, each computed once (`DeadLetterHeaders.errorTypeName`): a type's name never
/// changes while the process runs, and a handler throws few distinct error types.
///
/// Holds at most `capacity` names, so a program that makes endless generic error types cannot
/// grow it without bound; beyond that, names are computed on each call.
///
/// Thread-safe: called from any task.
final class TypeNameCache: Sendable {
    static let capacity = 256
    private let names = Mutex<[ObjectIdentifier: String]>([:])

    init() {}

    /// `type`'s cached name, else `compute()`'s (cached while there is room).
    func name(of type: any Any.Type, compute: () -> String) -> String {
        let key = ObjectIdentifier(type)
        if let name = names.withLock({ $0[key] }) { return name }
        let name = compute()
        names.withLock { names in
            if names.count < Self.capacity { names[key] = name }
        }
        return name
    }

    /// How many names are cached (for tests).
    var count: Int { names.withLock { $0.count } }
}
