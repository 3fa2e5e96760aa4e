import Testing
@testable import WarrenAMQP

@Suite struct AMQPURLTests {
    @Test func parsesEveryPart() throws {
        let url = try AMQPURL("amqp://alice:s3cret@broker.example:5673/prod")
        #expect(url.user == "alice")
        #expect(url.password == "s3cret")
        #expect(url.host == "broker.example")
        #expect(url.port == 5673)
        #expect(url.vhost == "prod")
    }

    @Test(arguments: ["amqp://h:5672/", "amqp://h:5672", "amqp://h/%2f", "amqp://h/%2F"])
    func emptyOrEncodedSlashVhostIsTheDefaultVhost(text: String) throws {
        #expect(try AMQPURL(text).vhost == "/")
    }

    @Test func defaultsToGuestAndPort5672() throws {
        let url = try AMQPURL("amqp://localhost")
        #expect(url.user == "guest")
        #expect(url.password == "guest")
        #expect(url.port == 5672)
    }

    @Test func percentDecodesCredentialsAndVhost() throws {
        let url = try AMQPURL("amqp://us%40er:p%3Aa%2Fss@h:1/my%2Fvhost")
        #expect(url.user == "us@er")
        #expect(url.password == "p:a/ss")
        #expect(url.vhost == "my/vhost")
    }

    @Test func parsesIPv6Hosts() throws {
        let url = try AMQPURL("amqp://u:p@[::1]:5673/")
        #expect(url.host == "::1")
        #expect(url.port == 5673)
        #expect(url.redacted == "amqp://u:***@[::1]:5673/")
    }

    @Test func redactionNeverShowsThePassword() throws {
        let url = try AMQPURL("amqp://alice:hunter2-very-secret@h:5672/prod")
        #expect(url.redacted == "amqp://alice:***@h:5672/prod")
        #expect(!url.description.contains("hunter2"))
        #expect(!"\(url)".contains("hunter2"))
        #expect(!AMQPURL.redact("amqp://alice:hunter2@h:5672/").contains("hunter2"))
        // An unparseable URL that looks like it holds credentials is hidden whole.
        #expect(!AMQPURL.redact("amqp://alice:hunter2@h:notaport/").contains("hunter2"))
    }

    /// Found by fuzz/AMQPURLFuzz.swift: a "/" in the password (or user) ended the host, so the
    /// rest of the credentials became the port (quoted in the error) or the vhost (shown by
    /// `redacted`).
    @Test(arguments: [
        "amqp://alice:hunter2/x@h:5672/", "amqp://alice:12/hunter2@h/", "amqp://ali/ce:hunter2@h/prod",
    ])
    func slashInCredentialsIsRejectedWithoutQuotingThem(text: String) {
        #expect {
            try AMQPURL(text)
        } throws: { error in
            "\(error)".contains("%2F") && !"\(error)".contains("hunter2")
        }
        #expect(!AMQPURL.redact(text).contains("hunter2"))
    }

    /// Found by fuzz/AMQPURLFuzz.swift: `amqp://a]:b:1/` parsed (host `a]:b`), but its redacted
    /// form `amqp://guest:***@[a]:b]:1/` did not parse back; likewise `[a[b]` (host `a[b`).
    @Test(arguments: ["amqp://a]:b:1/", "amqp://u:p@h[x:1/", "amqp://u:p@h]", "amqp://u@[a[b]"])
    func bracketOutsideAnIPv6HostIsRejected(text: String) {
        #expect {
            try AMQPURL(text)
        } throws: { error in
            "\(error)".contains("bracket")
        }
    }

    /// Found by fuzz/AMQPURLFuzz.swift: `amqp://u@ra?art.intl/orders?heartbeat=10` parsed with the
    /// host `ra?art.intl` (the query came from the path), and its redacted form did not parse back.
    /// Without a path, a '?' after the host still starts the query.
    @Test func aQuestionMarkInTheHostIsRejected() throws {
        #expect {
            try AMQPURL("amqp://u@ra?art.intl/orders?heartbeat=10")
        } throws: { error in
            "\(error)".contains("'?' in the host")
        }
        let url = try AMQPURL("amqp://u@h?heartbeat=10")
        #expect(url.host == "h")
    }

    @Test(arguments: [
        ("http://h/", "unsupported scheme"),
        ("h:5672", "missing scheme"),
        ("amqp://h:0/", "port"),
        ("amqp://h:99999/", "port"),
        ("amqp://h:abc/", "port"),
        ("amqp://u:p%zz@h/", "percent-encoding"),
        // A list joined wrongly (issue 15): its vhost would carry the next URL's password.
        ("amqp://h1/amqp%3A%2F%2Fu%3Ap%40h2%2F", "the vhost holds '://'"),
        ("amqp://h1/x,amqp://h2/", "the vhost holds '://'"),
    ])
    func rejectsBadURLsWithAReason(text: String, reason: String) {
        #expect {
            try AMQPURL(text)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}
