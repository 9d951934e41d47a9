import CalotypeCore
import Foundation
import Testing

@testable import Server

/// The OpenAPI components that mirror a Codable type field by field name
/// exactly the fields the type writes: a field added to one and not the
/// other fails here, not in a client.
@Suite("OpenAPI components against the wire types")
struct OpenAPISchemaTests {
    /// Every field written, optionals included.
    static var item: APIBatchItem {
        var item = APIBatchItem(batchID: "b", index: 0, filename: "a.jpg", status: .ok, error: APIErrorDetail(code: .saveFailed, message: "m"))
        item.backend = "libvips"
        item.fallback = false
        item.width = 1
        item.height = 1
        item.format = .png
        item.bytes = 1
        item.durationMs = 1
        item.url = "/results/x"
        item.savedTo = "s3://bucket/x"
        item.data = "AA=="
        return item
    }

    static let written: [(component: String, value: any Encodable & Sendable)] = [
        ("BatchItem", item),
        ("BatchAnswer", APIBatchSummary(batchID: "b", total: 1, succeeded: 1, failed: 0, cancelled: 0, durationMs: 1, results: [item])),
        ("BatchCreated", APIBatchCreated(batchID: "b", status: .running, total: 1, eventsURL: "/e", statusURL: "/s")),
        (
            "BatchStatus",
            APIBatchStatus(
                batchID: "b",
                status: .completed,
                total: 1,
                completed: 1,
                succeeded: 1,
                failed: 0,
                cancelled: 0,
                durationMs: 1,
                createdAt: "2026-12-06T00:00:00Z",
                eventsURL: "/e",
                statusURL: "/s",
                lastEventID: 1,
                results: [item]
            )
        ),
        ("Error", APIErrorBody(.notFound, "m")),
    ]

    @Test(arguments: written.map(\.component))
    func aComponentNamesTheFieldsItsTypeWrites(_ component: String) throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json(maxOperations: 16).utf8)) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let schema = try #require(schemas[component] as? [String: Any], "\(component) is not in the document")
        let documented = Set(try #require(schema["properties"] as? [String: Any]).keys)
        let value = try #require(Self.written.first { $0.component == component }).value
        let encoded = try #require(try JSONSerialization.jsonObject(with: APIJSON.encode(value)) as? [String: Any])
        #expect(Set(encoded.keys) == documented, "\(component): \(Set(encoded.keys).symmetricDifference(documented).sorted())")
        for required in schema["required"] as? [String] ?? [] {
            #expect(encoded[required] != nil, "\(component) requires \(required)")
        }
    }
}
