import CalotypeCore
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// One part of a `multipart/form-data` body.
struct MultipartPart: Sendable {
    var name: String?
    var filename: String?
    var contentType: String?
    /// Where the part lies in the body, not a copy: the body stays alive
    /// while a part does.
    var body: EncodedBytes
}

/// A `multipart/form-data` parser (RFC 7578) over a body already received
/// (under the size limit). It finds delimiters with `memchr` and `memcmp`,
/// leaves each part's bytes where they arrived (an upload costs its own
/// size, not twice it), and keeps each part's file name, which the API
/// reports.
enum Multipart {
    /// The boundary of a `multipart/form-data` content type, or nil when it is not one.
    static func boundary(of contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let kind = pieces.first, kind.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return (1...70).contains(value.count) ? value : nil
        }
        return nil
    }

    enum Failure: Error, Equatable {
        case malformed(String)
        /// More parts than `maxParts`; parsing stopped there.
        case tooManyParts(limit: Int)
    }

    /// The parts of `body`, at most `maxParts` of them: each part costs a
    /// header parse and an allocation even when empty (a million empty parts
    /// in 50 MB took seconds), so the count is capped as parts are found.
    static func parse(_ body: ByteBuffer, boundary: String, maxParts: Int = .max) throws(Failure) -> [MultipartPart] {
        let retained = RetainedBody(body)
        let result: Result<[MultipartPart], Failure> = retained.buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(Failure) in
                try parse(bytes, boundary: Array(boundary.utf8), maxParts: maxParts) { range in
                    EncodedBytes(borrowing: bytes.baseAddress.map { $0 + range.lowerBound }, count: range.count, owner: retained)
                }
            }
        }
        return try result.get()
    }

    private static func parse(
        _ bytes: UnsafeRawBufferPointer,
        boundary: [UInt8],
        maxParts: Int,
        part: (Range<Int>) -> EncodedBytes
    ) throws(Failure) -> [MultipartPart] {
        let delimiter = Array("--".utf8) + boundary
        let separator = Array("\r\n".utf8) + delimiter
        guard var cursor = find(delimiter, in: bytes, from: 0) else {
            throw .malformed("no part starts with the boundary")
        }
        cursor += delimiter.count
        var parts: [MultipartPart] = []
        while true {
            if matches(Array("--".utf8), in: bytes, at: cursor) { return parts }  // the closing delimiter
            guard matches(Array("\r\n".utf8), in: bytes, at: cursor) else {
                throw .malformed("a boundary is not followed by a line break")
            }
            cursor += 2
            guard parts.count < maxParts else { throw .tooManyParts(limit: maxParts) }
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: bytes, from: cursor) else {
                throw .malformed("a part's headers do not end")
            }
            let headerText = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[cursor..<headerEnd]), as: UTF8.self)
            let bodyStart = headerEnd + 4
            guard let bodyEnd = find(separator, in: bytes, from: bodyStart) else {
                throw .malformed("the body ends inside a part (no closing boundary)")
            }
            var found = MultipartPart(body: part(bodyStart..<bodyEnd))
            readHeaders(headerText, into: &found)
            parts.append(found)
            cursor = bodyEnd + separator.count
        }
    }

    private static func readHeaders(_ text: String, into part: inout MultipartPart) {
        for line in text.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case "content-disposition":
                let parameters = dispositionParameters(value)
                part.name = parameters["name"]
                part.filename = parameters["filename"]
            case "content-type":
                part.contentType = value
            default:
                break
            }
        }
    }

    /// `form-data; name="files"; filename="a b.jpg"` -> ["name": "files", "filename": "a b.jpg"].
    static func dispositionParameters(_ value: String) -> [String: String] {
        var parameters: [String: String] = [:]
        var index = value.startIndex
        // Skip the disposition type.
        guard let firstSemicolon = value.firstIndex(of: ";") else { return [:] }
        index = value.index(after: firstSemicolon)
        while index < value.endIndex {
            while index < value.endIndex, value[index] == " " || value[index] == ";" { index = value.index(after: index) }
            guard let equals = value[index...].firstIndex(of: "=") else { break }
            let key = value[index..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            index = value.index(after: equals)
            var result = ""
            if index < value.endIndex, value[index] == "\"" {
                index = value.index(after: index)
                while index < value.endIndex, value[index] != "\"" {
                    if value[index] == "\\", value.index(after: index) < value.endIndex { index = value.index(after: index) }
                    result.append(value[index])
                    index = value.index(after: index)
                }
                if index < value.endIndex { index = value.index(after: index) }
            } else {
                let end = value[index...].firstIndex(of: ";") ?? value.endIndex
                result = value[index..<end].trimmingCharacters(in: .whitespaces)
                index = end
            }
            parameters[key] = result
        }
        return parameters
    }

    private static func matches(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        guard offset + needle.count <= bytes.count else { return false }
        return needle.indices.allSatisfy { bytes[offset + $0] == needle[$0] }
    }

    /// The offset of `needle` at or after `offset`: memchr to each candidate
    /// first byte, memcmp to confirm (fast on binary parts, which rarely hold
    /// the first byte of the delimiter).
    static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer, from offset: Int) -> Int? {
        guard let first = needle.first, let base = bytes.baseAddress else { return nil }
        let last = bytes.count - needle.count
        var position = offset
        return needle.withUnsafeBytes { pattern -> Int? in
            guard let patternBase = pattern.baseAddress else { return nil }
            while position <= last {
                guard let candidate = memchr(base + position, Int32(first), last - position + 1) else { return nil }
                let index = base.distance(to: UnsafeRawPointer(candidate))
                if memcmp(candidate, patternBase, needle.count) == 0 { return index }
                position = index + 1
            }
            return nil
        }
    }
}
