import FuzzSupport
import NIOCore

@testable import Server

/// The multipart/form-data parser behind every upload. The input is a
/// Content-Type value, a line feed, then the body: `Multipart.boundary(of:)`
/// reads the first, `Multipart.parse` the rest with that boundary.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: count)
    let newline = input.firstIndex(of: UInt8(ascii: "\n")) ?? input.count
    let contentType = String(decoding: UnsafeRawBufferPointer(rebasing: input[..<newline]), as: UTF8.self)
    _ = Multipart.dispositionParameters(contentType)
    guard let boundary = Multipart.boundary(of: contentType) else { return 0 }
    require((1...70).contains(boundary.count), "boundary of \(boundary.count) characters")

    let body = ByteBuffer(bytes: input[min(newline + 1, input.count)...])
    let parts: [MultipartPart]
    do {
        parts = try Multipart.parse(body, boundary: boundary, maxParts: 100)
    } catch .tooManyParts(let limit) {
        require(limit == 100, "tooManyParts(limit: \(limit)) with a limit of 100")
        return 0
    } catch {
        return 0
    }
    require(parts.count <= 100, "\(parts.count) parts with a limit of 100")
    // Parts are disjoint pieces of the body, none holding a delimiter.
    let separator = Array("\r\n--\(boundary)".utf8)
    require(parts.reduce(0) { $0 + $1.body.count } <= body.readableBytes, "parts longer than the body")
    for part in parts {
        let found = part.body.withUnsafeBytes { Multipart.find(separator, in: $0, from: 0) }
        require(found == nil, "a part's body holds the delimiter at \(found ?? -1)")
    }
    // The limit is exact: the same body with exactly as many parts allowed
    // parses the same, and with one fewer is refused as too many.
    let again = try? Multipart.parse(body, boundary: boundary, maxParts: parts.count)
    require(again.map { $0.map(\.body) } == parts.map(\.body), "a second parse with maxParts \(parts.count) differs")
    if !parts.isEmpty {
        do {
            _ = try Multipart.parse(body, boundary: boundary, maxParts: parts.count - 1)
            require(false, "\(parts.count) parts accepted with maxParts \(parts.count - 1)")
        } catch {
            require(error == .tooManyParts(limit: parts.count - 1), "maxParts \(parts.count - 1): \(error)")
        }
    }
    return 0
}
