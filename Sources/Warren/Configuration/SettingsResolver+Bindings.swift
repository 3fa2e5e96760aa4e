extension Topology {
    /// Reads `bind` (`QueueBinding.parseList`; the flag may be repeated, its values joined with
    /// commas) and `exchange-type` (the type of exchanges Warren declares; default topic).
    /// Throws `ConfigurationError` naming the key and the entry.
    public static func bindings(resolving settings: SettingsResolver) throws -> [QueueBinding] {
        let exchangeType = try settings.choice("exchange-type", default: ExchangeType.topic)
        guard let (value, key) = try settings.raw("bind", as: .list(separator: ",")) else { return [] }
        switch QueueBinding.parseList(value, exchangeType: exchangeType) {
        case .success(let bindings):
            return bindings
        case .failure(let error):
            let shown = error.entry.count > 80 ? String(error.entry.prefix(80)) + "…" : error.entry
            throw ConfigurationError(key: key, value: shown, problem: error.problem)
        }
    }

    /// Reads `existing-queue` (`true`/`false`, default false; see `Topology.existingQueue`).
    public static func existingQueue(resolving settings: SettingsResolver) throws -> Bool {
        try settings.boolean("existing-queue", default: false)
    }
}
