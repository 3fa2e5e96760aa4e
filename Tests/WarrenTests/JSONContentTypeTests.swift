import Testing

@testable import Warren

/// `JSONMessageDecoding.isJSON`, the per-message content-type check, compares bytes.
@Suite struct JSONContentTypeTests {
    @Test(arguments: [
        "application/json", "Application/JSON", "application/json; charset=utf-8", " application / json ;x=y",
        "application/vnd.api+json", "APPLICATION/PROBLEM+JSON;charset=utf-8", "\tapplication/json",
    ])
    func jsonTypes(_ type: String) {
        #expect(JSONMessageDecoding.isJSON(type))
    }

    @Test(arguments: ["text/plain", "application/jsonx", "json", "+jso", "application/xml; x=+json", "applicatión/json", ""])
    func otherTypes(_ type: String) {
        #expect(!JSONMessageDecoding.isJSON(type))
    }
}
