/// Reads a `text/event-stream` as it arrives, in chunks cut anywhere, the way
/// the WHATWG HTML standard's event stream interpretation does: lines end in
/// CRLF, LF or CR; `event`, `data` (one line each, joined by newlines) and
/// `id` fields; comments (`:`) ignored; a blank line dispatches the event.
struct EventStreamReader {
    struct Event: Sendable, Equatable {
        var type: String
        var data: String
        var id: String?
    }

    private var line: [UInt8] = []
    private var lastWasCR = false
    private var type = ""
    private var data: [String] = []
    private var hasData = false
    private var lastID: String?

    /// Feeds the next chunk; returns the events it completed.
    mutating func feed<Bytes: Sequence>(_ chunk: Bytes) -> [Event] where Bytes.Element == UInt8 {
        var events: [Event] = []
        for byte in chunk {
            switch byte {
            case UInt8(ascii: "\n"):
                if lastWasCR {
                    lastWasCR = false  // The LF of a CRLF: the line already ended.
                    continue
                }
                if let event = endLine() { events.append(event) }
            case UInt8(ascii: "\r"):
                lastWasCR = true
                if let event = endLine() { events.append(event) }
            default:
                lastWasCR = false
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            // Dispatch: an event needs data; its type defaults to "message".
            defer {
                type = ""
                data = []
                hasData = false
            }
            guard hasData else { return nil }
            return Event(type: type.isEmpty ? "message" : type, data: data.joined(separator: "\n"), id: lastID)
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let text = String(decoding: line, as: UTF8.self)
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
        } else {
            field = text[...]
            value = ""
        }
        switch field {
        case "event": type = String(value)
        case "data":
            data.append(String(value))
            hasData = true
        case "id" where !value.contains("\0"): lastID = String(value)
        default: break  // retry and unknown fields do not matter here.
        }
        return nil
    }
}
