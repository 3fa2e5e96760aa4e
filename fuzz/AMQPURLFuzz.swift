import WarrenAMQP

// Fuzz target for `AMQPURL`, `AMQPURLQuery` and `AMQPURLList`: every input is parsed twice, as
// raw text and as the parts of URLs an operator pastes together (one URL, or a comma-separated
// list of them) without percent-encoding anything.
//
// Properties:
// - parsing is deterministic;
// - `redacted` (and `description`) do not depend on the password, and parse back to the same
//   user, host, port and vhost with the password `***`;
// - `AMQPURL.redact` shows a parseable URL only in its redacted form;
// - a password pasted into a URL never reaches `redacted`, `redact` or a parse error's text,
//   whatever characters it holds;
// - the same holds for lists: `AMQPURLList.redact` shows a parseable list only as its `redacted`
//   form, and no password of any entry reaches `redacted`, `redact` or a parse error.

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

private func parseList(_ text: String) -> Result<AMQPURLList, AMQPError> {
    Result { () throws(AMQPError) in
        do { return try AMQPURLList(text) } catch let error as AMQPError { throw error } catch {
            fatalError("AMQPURLList threw a non-AMQPError: \(error)")
        }
    }
}

private func checkRawText(_ text: String) {
    let list = parseList(text)
    check(list == parseList(text), "list parsing is not deterministic for \(text.debugDescription)")
    if case .success(let urls) = list {
        check(AMQPURLList.redact(text) == urls.redacted, "AMQPURLList.redact(\(text.debugDescription)) is not its redacted list")
        check(urls.ordered(shuffled: true, seed: 7).count == urls.urls.count, "shuffling lost a URL")
    }
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
private let alphabet = Array("abcxyz019:/@?#%[].-_~+ ,=&")
/// Starts every segment of the password, so that any fragment of it is recognisable.
private let marker = "SECRET"

private func part(_ input: inout FuzzInput, upTo limit: Int) -> String {
    String(input.bytes(upTo: limit).map { alphabet[Int($0) % alphabet.count] })
}

private func checkPastedPassword(_ input: inout FuzzInput) {
    // One URL, or a list of up to three, each with a password starting with the marker.
    let texts = (0..<(1 + input.choice(3))).map { _ in pastedURL(&input) }
    let text = texts.joined(separator: [",", ", ", ",,"][input.choice(3)])
    var shown = [AMQPURLList.redact(text)]
    switch parseList(text) {
    case .success(let list): shown += [list.redacted, list.description]
    case .failure(let error): shown.append("\(error)")
    }
    for one in texts {
        switch parse(one) {
        case .success(let url): shown += [url.redacted, url.description, AMQPURL.redact(one)]
        case .failure(let error): shown += ["\(error)", AMQPURL.redact(one)]
        }
    }
    for output in shown {
        check(!output.contains(marker), "a password of \(text.debugDescription) leaks into \(output.debugDescription)")
    }
}

private func pastedURL(_ input: inout FuzzInput) -> String {
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
    let query = input.choice(2) == 0 ? "" : "?" + part(&input, upTo: 12)
    return "\(scheme)\(user):\(password)@\(host)\(port)\(path)\(query)"
}
