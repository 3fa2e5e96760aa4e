/// One header set over a message's headers without copying them
/// (`AMQPProperties.overrideHeaders`).
///
/// A struct rather than a `(key:, value:)` tuple: an array of tuples is destroyed through the
/// tuple's generic value witnesses, a few hundred instructions per copy published.
package struct HeaderOverride: Sendable, Equatable {
    package let key: String
    package var value: AMQPFieldValue

    package init(_ key: String, _ value: AMQPFieldValue) {
        self.key = key
        self.value = value
    }

    /// Whether this is the header `key`. The byte counts first: `String`'s `==` goes through
    /// its Unicode-aware comparison even for keys of different lengths, and Warren's keys
    /// nearly all differ in length. (Two spellings of one non-ASCII key, composed and
    /// decomposed, are `==` but differ here, as they differ on the wire; Warren's own keys
    /// are ASCII.)
    func hasKey(_ key: String) -> Bool {
        self.key.utf8.count == key.utf8.count && self.key == key
    }

    /// Whether no two of `entries` have the same key.
    static func keysAreUnique(_ entries: [HeaderOverride]) -> Bool {
        for first in entries.indices {
            for second in (first + 1)..<entries.count where entries[first].hasKey(entries[second].key) {
                return false
            }
        }
        return true
    }
}
