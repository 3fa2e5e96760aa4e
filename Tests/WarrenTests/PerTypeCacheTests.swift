import Testing
@testable import Warren

@Suite struct PerTypeCacheTests {
    private struct One: Error {}
    private struct Two: Error {}
    private struct Generic<T>: Error {}

    /// Each type's name is computed once, then served from the cache; another type gets its own.
    @Test func eachTypeIsNamedOnce() {
        let cache = PerTypeCache<String>()
        var computed = 0
        for _ in 0..<3 {
            #expect(cache.value(of: One.self) { computed += 1; return "One" } == "One")
        }
        #expect(computed == 1)
        #expect(cache.value(of: Two.self) { computed += 1; return "Two" } == "Two")
        #expect(computed == 2)
    }

    /// Past `capacity` names nothing more is kept: still named, just computed each time.
    @Test func holdsAtMostItsCapacity() {
        let cache = PerTypeCache<String>()
        func fill<T>(_: T.Type, depth: Int) {
            _ = cache.value(of: Generic<T>.self) { "g" }
            if depth > 0 {
                fill(Generic<T>.self, depth: depth - 1)
                fill((T, Int).self, depth: depth - 1)
            }
        }
        fill(Int.self, depth: 9)
        #expect(cache.count == PerTypeCache<String>.capacity)
        var computed = 0
        #expect(cache.value(of: One.self) { computed += 1; return "One" } == "One")
        #expect(cache.value(of: One.self) { computed += 1; return "One" } == "One")
        #expect(computed == 2)
    }

    /// The names the dead-letter headers and logs use are unchanged by the cache.
    @Test func errorTypeNamesStayTheSame() {
        #expect(DeadLetterHeaders.errorTypeName(One()) == "One")
        #expect(DeadLetterHeaders.errorTypeName(One()) == "One")
        #expect(DeadLetterHeaders.errorTypeName(PermanentFailure(Two())) == "Two")
        #expect(DeadLetterHeaders.errorTypeName(CrashLoopDetected(crashes: 3, limit: 3)) == "crash-loop")
        #expect(DeadLetterHeaders.errorTypeName(CrashLoopDetected(crashes: 3, limit: 3)) == "crash-loop")
    }
}
