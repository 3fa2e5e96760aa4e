import Testing
@testable import WarrenAMQP

@Suite struct AMQPURLListTests {
    /// Issue 15: `amqp://u:p@h1/,amqp://u:p@h2/` was one URL whose vhost held the second URL.
    @Test func aCommaSeparatedListIsOneURLPerNode() throws {
        let list = try AMQPURLList("amqp://u1:first@h1:5672/v1,amqp://u2:SECOND@h2:5673/")
        #expect(list.urls.count == 2)
        #expect(list.urls[0] == AMQPURL(user: "u1", password: "first", host: "h1", vhost: "v1"))
        #expect(list.urls[1] == AMQPURL(user: "u2", password: "SECOND", host: "h2", port: 5673))
        #expect(list.first.host == "h1")
        #expect(list.redacted == "amqp://u1:***@h1:5672/v1,amqp://u2:***@h2:5673/")
        #expect(list.description == list.redacted)
    }

    @Test func spacesAroundEntriesAndCommasInsidePasswordsAreKept() throws {
        let list = try AMQPURLList("amqp://u:a,b@h1/ , amqp://h2/vhost,with,commas")
        #expect(list.urls.map(\.host) == ["h1", "h2"])
        #expect(list.urls[0].password == "a,b")
        #expect(list.urls[1].vhost == "vhost,with,commas")
    }

    @Test(arguments: [
        ("amqp://h1/, ", "a trailing comma"),
        (",amqp://h1/", "URL 1 of 2: empty"),
        (" , amqp://h1/", "URL 1 of 2: empty"),
        ("amqp://h1/,amqp://u:SECRETpw@h2:notaport/", "URL 2 of 2: the port"),
        // Only amqp:// and amqps:// start an entry: this is one URL with an '@' in its vhost.
        ("amqp://h1/,http://u:SECRETpw@h2/", "'@' after the host"),
        ("amqp://h1/,AMQP://u:SECRETpw@h2/?bogus", "URL 2 of 2: unknown query parameter 'bogus'"),
    ])
    func aBadEntryIsNamedWithoutQuotingIt(text: String, reason: String) {
        #expect {
            try AMQPURLList(text)
        } throws: { error in
            "\(error)".contains(reason) && !"\(error)".contains("SECRET")
        }
    }

    /// Found by fuzz/AMQPURLFuzz.swift: splitting at ",," cut a password containing ",,"
    /// in two, and its first half became the first entry's vhost, shown by `redacted`.
    @Test func onlyACommaBeforeAnAMQPSchemeSplits() throws {
        let text = "amqp://#//x,:SECRET,,,aaSECRET@h/,amqp://:SECRET@h2/"
        #expect(AMQPURLList.split(text).count == 2)
        #expect(!AMQPURLList.redact(text).contains("SECRET"), "\(AMQPURLList.redact(text))")
        #expect(try AMQPURLList("amqp://h1/,,amqp://h2/").urls.map(\.vhost) == [",", "/"], "a doubled comma stays in the vhost")
    }

    @Test func aSingleURLIsAListOfOne() throws {
        let list = try AMQPURLList("amqp://u:p@h/")
        #expect(list.urls == [try AMQPURL("amqp://u:p@h/")])
    }

    @Test func thePasswordSettingReplacesEveryNodesPassword() throws {
        var list = try AMQPURLList("amqp://u:a@h1/,amqp://u:b@h2/")
        list.setPassword("new")
        #expect(list.urls.map(\.password) == ["new", "new"])
    }

    /// `WARREN_AMQP_SHUFFLE=false` keeps the given order; otherwise the order is a permutation
    /// fixed by the seed alone, and different seeds spread the first choice over the nodes.
    @Test func theOrderIsGivenOrSeededShuffle() throws {
        let list = try AMQPURLList((1...5).map { "amqp://h\($0)/" }.joined(separator: ","))
        #expect(list.ordered(shuffled: false, seed: 42) == list.urls)
        let shuffled = list.ordered(shuffled: true, seed: 42)
        #expect(shuffled == list.ordered(shuffled: true, seed: 42), "same seed, same order")
        #expect(Set(shuffled.map(\.host)) == Set(list.urls.map(\.host)), "a permutation")
        let firsts = Set((0..<64).map { list.ordered(shuffled: true, seed: UInt64($0)).first!.host })
        #expect(firsts.count == 5, "64 seeds put every node first at least once: \(firsts)")
    }

    /// Whatever the user writes, `redact` shows no password: lists, malformed entries,
    /// percent-encoded credentials.
    @Test(arguments: [
        "amqp://u:SECRET1@h1/,amqp://u:SECRET2@h2/",
        "amqp://u:SECRET1@h1/,amqp://u:SECRET2@h2:bad/",
        "amqp://u:SECRET1@h1:bad/,amqp://u:SECRET2@h2/",
        "amqp://u:SECRET1@h1/,u:SECRET2@h2/",
        "amqp://u:SECRET1@h1/%2Camqp%3A%2F%2Fu%3ASECRET2%40h2%2F",
        "amqp://u%3ASECRET1@h1:x/",
        "amqp://u:SECRET1",
        "amqp://u:SECRET1/@h/",
        "u:SECRET1@h1",
        // Found by fuzz/AMQPURLFuzz.swift: only the text after "://" was checked for credentials.
        "u:SECRET1@h1 a://",
        "amqp://h1/?heartbeat=SECRET1,amqp://u:SECRET2@h2/?bogus",
        "amqp://u:SECRET1,SECRETx://y@h/",
        // A password holding ",amqp://" must be percent-encoded, or it would start an entry.
        "amqp://u:SECRET1%2Camqp%3A%2F%2FSECRET2@h/",
    ])
    func redactionHidesEveryPassword(text: String) {
        let shown = AMQPURLList.redact(text)
        #expect(!shown.contains("SECRET"), "\(shown)")
        #expect(!AMQPURL.redact(text).contains("SECRET"), "\(AMQPURL.redact(text))")
        do {
            _ = try AMQPURLList(text)
        } catch {
            #expect(!"\(error)".contains("SECRET"), "\(error)")
        }
    }

    @Test func redactionKeepsTextWithoutCredentials() {
        #expect(AMQPURLList.redact("amqp://h1/,amqp://u:p@h2/") == "amqp://guest:***@h1:5672/,amqp://u:***@h2:5672/")
        #expect(AMQPURLList.redact("localhost") == "localhost")
    }
}
