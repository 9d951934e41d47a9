import Foundation
import NIOCore

/// Follows the framing of a connection's requests in its raw bytes, ahead of
/// swift-nio's HTTP parser (llhttp), for two things that parser keeps to
/// itself:
///
/// - the size each chunk of a chunked body announces. llhttp reads it and
///   then waits for that many bytes, handing on what comes; a client that
///   announces a chunk of 2^63 bytes and sends nothing more was answered only
///   when the read timeout cut it off. Here a chunk over the body limit
///   (`CALOTYPE_MAX_BODY_BYTES`) is refused as its size is read: 413, or 400
///   for a size no 64-bit number holds;
/// - the request line of the request being read, so that a method llhttp does
///   not know on an otherwise well-formed line (`FOO / HTTP/1.1`) can be
///   answered 501 rather than 400.
///
/// It follows the parser, never leads it: it changes no byte, and where it
/// cannot follow (an upgrade or `CONNECT`, a body framed in a way it does
/// not know, a head it cannot read) it stops watching the connection and the
/// parser alone decides.
struct RequestFraming {
    private enum State {
        /// Reading a request head into `head`.
        case head
        /// A body of `Content-Length` bytes.
        case body(remaining: Int)
        /// A chunk-size line's hex digits.
        case chunkSize(value: UInt64, sawDigit: Bool)
        /// The rest of a chunk-size line (extensions), up to its LF.
        case chunkLine(size: UInt64, length: Int)
        case chunkData(remaining: UInt64)
        /// The CRLF after a chunk's data.
        case chunkDataEnd
        /// Trailer lines after the last chunk, up to an empty one.
        case trailers(lineLength: Int)
        /// The parser alone from here.
        case unwatched
        /// Refused, or the connection is closing: what arrives is dropped.
        case stopped
    }

    /// Longest head followed: the parser's limit on the header list (80 KiB) and a request line.
    static let maxHeadBytes = 96 * 1024
    /// Longest chunk-size line followed (with its extensions).
    static let maxChunkLineBytes = 16 * 1024
    /// Longest request line kept for `methodOfWellFormedRequestLine`.
    static let maxRequestLineBytes = 8 * 1024
    /// Longest method repeated in an answer.
    static let maxMethodBytes = 32

    private let maxChunkSize: UInt64
    private var state = State.head
    private var head: [UInt8] = []
    /// How much of the CRLF CRLF that ends a head the last bytes of `head` are.
    private var headEndMatched = 0
    /// The request line of the latest head begun (nil until its CRLF arrives).
    private var requestLine: [UInt8]?

    init(maxChunkSize: Int) {
        // Capped at 2^59, so that a size under it times 16 plus a digit never overflows.
        self.maxChunkSize = min(UInt64(max(0, maxChunkSize)), 1 << 59)
    }

    /// Whether what arrives is dropped: a chunk was refused, or the connection is closing.
    var isStopped: Bool {
        if case .stopped = state { true } else { false }
    }

    /// Whether what arrives is followed, rather than passed on unread.
    var isFollowing: Bool {
        switch state {
        case .unwatched, .stopped: false
        default: true
        }
    }

    /// Drops whatever else arrives.
    mutating func stop() {
        state = .stopped
        head = []
    }

    /// The method of the latest request line read, when that line is
    /// `token SP target SP HTTP/1.x`: a request whose method the parser
    /// refused is then one with a method this server does not know (501),
    /// not one that is not HTTP (400).
    var methodOfWellFormedRequestLine: String? {
        guard let requestLine else { return nil }
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        let version = Array(parts[2])
        guard parts[0].allSatisfy(Self.isTokenCharacter), parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
            version.count == 8, version.starts(with: Array("HTTP/1.".utf8)), (0x30...0x39).contains(version[7])
        else { return nil }
        return String(decoding: parts[0].prefix(Self.maxMethodBytes), as: UTF8.self)
    }

    // MARK: Following the bytes

    /// Follows `bytes`, the next ones the connection received; a refusal,
    /// with the offset in `bytes` of the byte that made it, or nil.
    mutating func follow(_ bytes: UnsafeRawBufferPointer) -> (offset: Int, error: APIError)? {
        var index = 0
        while index < bytes.count {
            switch state {
            case .head:
                index = readHead(bytes, from: index)
            case .body(let remaining):
                let taken = min(remaining, bytes.count - index)
                index += taken
                state = remaining == taken ? .head : .body(remaining: remaining - taken)
            case .chunkSize(let value, let sawDigit):
                let byte = bytes[index]
                if let digit = Self.hexValue(byte) {
                    let size = value << 4 | UInt64(digit)  // value <= maxChunkSize <= 2^59: no overflow
                    if size > maxChunkSize {
                        return (index, refusal(ofChunkSizeFrom: value, in: bytes, at: index))
                    }
                    state = .chunkSize(value: size, sawDigit: true)
                    index += 1
                } else if !sawDigit {
                    state = .unwatched  // Not a chunk size: the parser says so.
                } else {
                    state = .chunkLine(size: value, length: 0)
                }
            case .chunkLine(let size, let length):
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\n") {
                    state = size == 0 ? .trailers(lineLength: 0) : .chunkData(remaining: size)
                } else if length >= Self.maxChunkLineBytes {
                    state = .unwatched
                } else {
                    state = .chunkLine(size: size, length: length + 1)
                }
            case .chunkData(let remaining):
                let taken = min(remaining, UInt64(bytes.count - index))
                index += Int(taken)
                state = remaining == taken ? .chunkDataEnd : .chunkData(remaining: remaining - taken)
            case .chunkDataEnd:
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\n") {
                    state = .chunkSize(value: 0, sawDigit: false)
                } else if byte != UInt8(ascii: "\r") {
                    state = .unwatched
                }
            case .trailers(let lineLength):
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\n") {
                    state = lineLength == 0 ? .head : .trailers(lineLength: 0)
                } else if byte != UInt8(ascii: "\r") {
                    state = lineLength >= Self.maxHeadBytes ? .unwatched : .trailers(lineLength: lineLength + 1)
                }
            case .unwatched, .stopped:
                return nil
            }
        }
        return nil
    }

    /// Takes bytes of a head from `start`, up to its end (CRLF CRLF) at
    /// most; the index after the last one taken. Only the head is copied,
    /// and each byte is looked at once, however the head is split.
    private mutating func readHead(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        if head.isEmpty {
            // Empty lines before a request line are allowed (and skipped by the parser).
            while index < bytes.count, bytes[index] == UInt8(ascii: "\r") || bytes[index] == UInt8(ascii: "\n") {
                index += 1
            }
            guard index < bytes.count else { return index }
            requestLine = nil
            headEndMatched = 0
        }
        var end = index
        while end < bytes.count, headEndMatched < 4 {
            let byte = bytes[end]
            end += 1
            if byte == UInt8(ascii: "\r") {
                headEndMatched = headEndMatched == 2 ? 3 : 1
            } else if byte == UInt8(ascii: "\n"), headEndMatched == 1 || headEndMatched == 3 {
                headEndMatched += 1
            } else {
                headEndMatched = 0
            }
        }
        let lineSearchFrom = max(0, head.count - 1)
        head.append(contentsOf: bytes[index..<end])
        if requestLine == nil, let lineEnd = Self.find([0x0D, 0x0A], in: head, from: lineSearchFrom) {
            requestLine = Array(head[..<min(lineEnd, Self.maxRequestLineBytes)])
        }
        if headEndMatched == 4 {
            state = Self.framing(ofHead: head.dropLast(4))
            head = []
        } else if head.count > Self.maxHeadBytes {
            state = .unwatched
            head = []
        }
        return end
    }

    /// What follows a head: its body's framing, as the parser will read it.
    private static func framing(ofHead head: ArraySlice<UInt8>) -> State {
        let lines = head.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }
        guard let requestLine = lines.first else { return .unwatched }
        if requestLine.starts(with: Array("CONNECT ".utf8)) { return .unwatched }
        var contentLengths: [Substring] = []
        var transferEncodings: [String] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .unwatched }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: Self.whitespace)
            switch name {
            case "content-length": contentLengths.append(Substring(value))
            case "transfer-encoding": transferEncodings.append(value.lowercased())
            case "upgrade": return .unwatched  // The parser may hand the connection over.
            default: break
            }
        }
        if !transferEncodings.isEmpty {
            let codings = transferEncodings.joined(separator: ",").split(separator: ",")
            guard contentLengths.isEmpty, codings.last.map({ $0.trimmingCharacters(in: Self.whitespace) }) == "chunked" else {
                return .unwatched
            }
            return .chunkSize(value: 0, sawDigit: false)
        }
        guard let declared = contentLengths.first else { return .head }
        guard contentLengths.count == 1, declared.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let length = Int(declared) else {
            return .unwatched
        }
        return length == 0 ? .head : .body(remaining: length)
    }

    /// The answer to a chunk size that passes the limit at `bytes[index]`,
    /// read on to the end of its digits where they are at hand: 413 with
    /// the size, or 400 for one no 64-bit number holds.
    private func refusal(ofChunkSizeFrom value: UInt64, in bytes: UnsafeRawBufferPointer, at index: Int) -> APIError {
        var size = value
        var exact = false
        for byte in bytes[index...] {
            guard let digit = Self.hexValue(byte) else {
                exact = true
                break
            }
            let (shifted, overflow) = size.multipliedReportingOverflow(by: 16)
            guard !overflow else {
                return APIError(.badRequest, .malformedRequest, "a chunk size has more hex digits than a 64-bit number holds")
            }
            size = shifted | UInt64(digit)
        }
        return APIError(
            .contentTooLarge,
            .payloadTooLarge,
            "a chunk of the body announces \(size)\(exact ? "" : " or more") bytes; the limit is \(maxChunkSize) (CALOTYPE_MAX_BODY_BYTES)"
        )
    }

    private static let whitespace = CharacterSet(charactersIn: " \t")

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        return haystack[start...].firstRange(of: needle)?.lowerBound
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    /// RFC 9110 `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}

/// `RequestFraming` in the channel pipeline, in front of the parser and of
/// the response encoder (so that what it writes goes out as it is).
final class RequestFramingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Fired inbound when a chunk is refused; `HTTP1ConformanceHandler` answers it.
    struct Refusal {
        let error: APIError
    }

    private var framing: RequestFraming
    private var context: ChannelHandlerContext?

    init(maxChunkSize: Int) {
        framing = RequestFraming(maxChunkSize: maxChunkSize)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !framing.isStopped else { return }
        guard framing.isFollowing else { return context.fireChannelRead(data) }
        let buffer = unwrapInboundIn(data)
        let refusal = buffer.withUnsafeReadableBytes { framing.follow($0) }
        guard let refusal else { return context.fireChannelRead(data) }
        framing.stop()
        // What came before the refused size goes on, so that the parser has
        // read the request's head when the refusal arrives.
        if refusal.offset > 0, let before = buffer.getSlice(at: buffer.readerIndex, length: refusal.offset) {
            context.fireChannelRead(wrapInboundOut(before))
        }
        context.fireUserInboundEventTriggered(Refusal(error: refusal.error))
    }

    /// Drops whatever else arrives: the connection is closing.
    func stopReading() {
        framing.stop()
    }

    /// The method of the latest request line read, when that line is well-formed.
    var methodOfWellFormedRequestLine: String? { framing.methodOfWellFormedRequestLine }

    /// Writes `bytes` to the connection as they are, past the response
    /// encoder (which frames any response to `CONNECT` without its body).
    func writeRaw(_ bytes: [UInt8], promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.writeAndFlush(wrapInboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: promise)
    }
}
