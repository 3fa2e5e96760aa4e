/// The samples of a Prometheus text exposition, by series (`name{labels}` exactly as written).
struct PrometheusSamples {
    private var values: [String: Double] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
    }

    subscript(series: String) -> Double? { values[series] }
}
