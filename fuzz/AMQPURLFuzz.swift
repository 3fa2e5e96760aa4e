import WarrenAMQP

// Fuzz target for `AMQPURL`: every input is parsed twice, as raw text and as the parts of a URL
// an operator pastes together without percent-encoding anything.
//
// Properties:
// - parsing is deterministic;
// - `redacted` (and `description`) do not depend on the password, and parse back to the same
//   user, host, port and vhost with the password `***`;
// - `AMQPURL.redact` shows a parseable URL only in its redacted form;
// - a password pasted into a URL never reaches `redacted`, `redact` or a parse error's text,
//   whatever characters it holds.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAMQPURL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    checkRawText(String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self))
    var input = FuzzInput(data, size)
    checkPastedPassword(&input)
    return 0
}

private func parse(_ text: String) -> Result<AMQPURL, AMQPError> {
    Result { () throws(AMQPError) in
        do { return try AMQPURL(text) } catch let error as AMQPError { throw error } catch {
            fatalError("AMQPURL threw a non-AMQPError: \(error)")
        }
    }
}

private func checkRawText(_ text: String) {
    let first = parse(text)
    check(first == parse(text), "parsing is not deterministic for \(text.debugDescription)")
    guard case .success(let url) = first else { return }

    check(url.description == url.redacted, "description is not redacted")
    var other = url
    other.password = url.password + "x"
    check(other.redacted == url.redacted, "redacted depends on the password: \(url.redacted)")
    check(AMQPURL.redact(text) == url.redacted, "redact(\(text.debugDescription)) is not its redacted URL")

    switch parse(url.redacted) {
    case .success(let again):
        check(again.password == "***", "\(url.redacted) parses back with another password")
        check(
            again.user == url.user && again.host == url.host && again.port == url.port && again.vhost == url.vhost,
            "\(text.debugDescription) -> \(url.redacted) -> \(again.redacted)")
    case .failure(let error):
        fatalError("\(text.debugDescription) redacts to \(url.redacted), which does not parse: \(error)")
    }
}

/// Characters of the generated parts: lowercase letters, digits and every character that means
/// something in a URL. No uppercase letter, so the marker below appears only where the password is.
private let alphabet = Array("abcxyz019:/@?#%[].-_~+ ")
/// Starts every segment of the password, so that any fragment of it is recognisable.
private let marker = "SECRET"

private func part(_ input: inout FuzzInput, upTo limit: Int) -> String {
    String(input.bytes(upTo: limit).map { alphabet[Int($0) % alphabet.count] })
}

private func checkPastedPassword(_ input: inout FuzzInput) {
    let scheme = ["amqp://", "AMQP://", "amqps://", "amqp:/", ""][input.choice(5)]
    let user = part(&input, upTo: 12)
    // Segments split by the URL's special characters, each starting with the marker.
    var password = ""
    for _ in 0..<(1 + input.choice(3)) {
        password += marker + part(&input, upTo: 8)
    }
    let host = part(&input, upTo: 12)
    let port = input.choice(2) == 0 ? "" : ":" + part(&input, upTo: 6)
    let path = input.choice(2) == 0 ? "" : "/" + part(&input, upTo: 12)
    let text = "\(scheme)\(user):\(password)@\(host)\(port)\(path)"

    let shown: [String]
    switch parse(text) {
    case .success(let url): shown = [url.redacted, url.description, AMQPURL.redact(text)]
    case .failure(let error): shown = ["\(error)", AMQPURL.redact(text)]
    }
    for output in shown {
        check(!output.contains(marker), "the password of \(text.debugDescription) leaks into \(output.debugDescription)")
    }
}
