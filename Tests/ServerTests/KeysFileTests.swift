import CalotypeApp
import Foundation
import Server
import Testing

/// The keys file as an operator writes it: each mistake refused at start
/// with a sentence that names the key and what is wrong.
@Suite("The API keys file")
struct KeysFileTests {
    static let digest = String(repeating: "ab", count: 32)

    static func refusal(_ json: String) -> String {
        do {
            _ = try APIKeys(json: Data(json.utf8))
            return "accepted"
        } catch {
            return error.description
        }
    }

    @Test(arguments: [
        ("{not json", "is not JSON"),
        (#"[]"#, #"one object with one member, "keys""#),
        (#"{"keys": [], "extra": 1}"#, "has 'extra'"),
        (#"{"keys": []}"#, "lists no keys"),
        (#"{"keys": [{"name": "web", "sha256": "abc", "scopes": ["process"]}]}"#, "key 1 ('web'): sha256 must be 64 hex digits"),
        (#"{"keys": [{"name": "web", "sha256": "\#(String(repeating: "zz", count: 32))", "scopes": ["process"]}]}"#, "sha256 must be 64 hex digits"),
        (#"{"keys": [{"name": "web", "sha256": "\#(digest)", "scopes": ["process", "root"]}]}"#, "'root' is not a scope"),
        (#"{"keys": [{"name": "web", "sha256": "\#(digest)", "scopes": []}]}"#, "scopes must be a non-empty list"),
        (#"{"keys": [{"name": "web", "sha256": "\#(digest)", "scope": ["process"]}]}"#, "key 1 has 'scope'"),
        (#"{"keys": [{"name": "w b", "sha256": "\#(digest)", "scopes": ["process"]}]}"#, "key 1 needs a name"),
        (#"{"keys": [{"name": "web", "sha256": "\#(digest)", "scopes": ["process"], "rate": 0}]}"#, "rate must be"),
        (#"{"keys": [{"name": "web", "sha256": "\#(digest)", "scopes": ["process"], "rate": true}]}"#, "rate must be a number"),
        (#"{"keys": [{"name": "web", "sha256": "\#(digest)", "scopes": ["process"], "max_in_flight": 2.5}]}"#, "max_in_flight"),
        (#"{"keys": [{"name": "web", "sha256": "\#(digest)", "scopes": ["process"], "max_in_flight": 1e30}]}"#, "max_in_flight"),
        (#"{"keys": [{"name": "web", "sha256": 7, "scopes": ["process"]}]}"#, "key 1: sha256 must be text"),
    ])
    func aMistakeIsRefusedByName(json: String, expected: String) {
        let refusal = Self.refusal(json)
        #expect(refusal.contains(expected), "\(json) -> \(refusal)")
    }

    @Test func keysMayShareATenantOnlyWithItsLimits() {
        let other = String(repeating: "cd", count: 32)
        let rotating =
            #"{"keys": [{"name": "web", "sha256": "\#(Self.digest)", "scopes": ["process"], "rate": 5}, {"name": "web", "sha256": "\#(other)", "scopes": ["process"], "rate": 5}]}"#
        #expect(Self.refusal(rotating) == "accepted")
        let disagreeing = rotating.replacingOccurrences(of: #""rate": 5}]"#, with: #""rate": 6}]"#)
        #expect(Self.refusal(disagreeing).contains("a tenant's keys share its limits"))
        let twice =
            #"{"keys": [{"name": "a", "sha256": "\#(Self.digest)", "scopes": ["process"]}, {"name": "b", "sha256": "\#(Self.digest)", "scopes": ["batches"]}]}"#
        #expect(Self.refusal(twice).contains("the same sha256"))
    }

    @Test func aKeyIsKnownByItsDigestAndNothingElse() throws {
        let made = try NewAPIKey(name: "web", scopes: ["process", "metrics"], rate: 20, maxInFlight: 4)
        #expect(made.key.hasPrefix("cal_") && made.key.count == 47)
        #expect(!made.entry.contains(made.key))
        let keys = try APIKeys(json: Data(#"{"keys": [\#(made.entry)]}"#.utf8))
        let tenant = try #require(keys.tenant(forKey: made.key))
        #expect(tenant == Tenant(name: "web", scopes: [.process, .metrics], rate: 20, maxInFlight: 4))
        #expect(keys.tenant(forKey: String(made.key.dropLast())) == nil)
        #expect(keys.tenant(forKey: "") == nil)
        #expect(throws: NewAPIKey.Refusal.self) { try NewAPIKey(name: "web", scopes: ["everything"]) }
    }

    /// The setting names the file and the file's own sentence.
    @Test func aBadFileStopsTheServerFromStarting() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-keys-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"keys": [{"name": "web", "sha256": "abc", "scopes": ["process"]}]}"#.utf8).write(to: file)
        #expect {
            try ServerConfiguration.read(from: Settings(environment: ["CALOTYPE_API_KEYS_FILE": file.path]))
        } throws: { error in
            "\(error)".contains("CALOTYPE_API_KEYS_FILE") && "\(error)".contains("sha256 must be 64 hex digits")
        }
        #expect {
            try ServerConfiguration.read(from: Settings(environment: ["CALOTYPE_API_KEYS_FILE": file.path + ".missing"]))
        } throws: { "\($0)".contains("a keys file this process can read") }
        // A file larger than any keys file is refused before it is read whole.
        try Data(count: APIKeys.maxFileBytes + 1).write(to: file)
        #expect {
            try ServerConfiguration.read(from: Settings(environment: ["CALOTYPE_API_KEYS_FILE": file.path]))
        } throws: { "\($0)".contains("at most \(APIKeys.maxFileBytes) bytes") }
        // The JSON itself, as a secrets folder holds it.
        let made = try NewAPIKey(name: "web", scopes: ["admin"])
        let read = try ServerConfiguration.read(from: Settings(environment: ["CALOTYPE_API_KEYS": #"{"keys": [\#(made.entry)]}"#]))
        #expect(read.apiKeys?.tenant(forKey: made.key)?.name == "web")
        #expect(try ServerConfiguration.read(from: Settings(environment: [:])).apiKeys == nil)
    }
}
