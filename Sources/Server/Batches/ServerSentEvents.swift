import Foundation

/// One event of a `text/event-stream`, encoded exactly as the WHATWG HTML
/// standard's event stream format reads it back.
public struct ServerSentEvent: Sendable, Equatable {
    public var id: String?
    public var event: String?
    /// The payload; each line becomes its own `data:` field.
    public var data: String

    public init(id: String? = nil, event: String? = nil, data: String) {
        self.id = id
        self.event = event
        self.data = data
    }

    /// `id:`, `event:`, one `data:` line per line of data, and the blank line
    /// that dispatches the event.
    public var encoded: String {
        var text = ""
        if let id { text += "id: \(Self.singleLine(id))\n" }
        if let event { text += "event: \(Self.singleLine(event))\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            text += "data: \(line.hasSuffix("\r") ? line.dropLast() : line)\n"
        }
        return text + "\n"
    }

    /// A comment line: ignored by clients, it keeps proxies from closing an idle stream.
    public static func comment(_ text: String) -> String {
        ": \(singleLine(text))\n\n"
    }

    /// Field values cannot hold line breaks.
    private static func singleLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}
