/// An encoded image's bytes, held once: an array, or a region of memory
/// that another owner keeps alive (a request body the image was uploaded
/// in, the buffer libvips encoded into).
///
/// A region is what lets an upload cost its own size: its parts are read
/// where they arrived instead of each being copied into an array of its
/// own, and a result is answered from the encoder's buffer instead of
/// being copied out of it first. The owner is released when the last copy
/// of these bytes is dropped; the region is never written.
public struct EncodedBytes: Sendable {
    private enum Storage: Sendable {
        case array([UInt8])
        case region(Region)
    }

    /// A region and what keeps it alive. Its memory is immutable for the
    /// owner's life, which is what makes it safe to share across threads.
    private final class Region: @unchecked Sendable {
        let start: UnsafeRawPointer?
        let count: Int
        let owner: AnyObject

        init(start: UnsafeRawPointer?, count: Int, owner: AnyObject) {
            self.start = start
            self.count = count
            self.owner = owner
        }
    }

    private let storage: Storage

    public init(_ bytes: [UInt8]) {
        storage = .array(bytes)
    }

    /// The `count` bytes at `start`, which stay valid and unchanged while
    /// `owner` lives (it is retained until the last copy of these bytes is
    /// dropped).
    public init(borrowing start: UnsafeRawPointer?, count: Int, owner: AnyObject) {
        precondition(count >= 0 && (count == 0 || start != nil), "a region of \(count) bytes needs memory")
        storage = .region(Region(start: start, count: count, owner: owner))
    }

    /// Calls `body` with the bytes in place, without copying them.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        switch storage {
        case .array(let bytes):
            let outcome: Swift.Result<Result, Failure> = bytes.withUnsafeBytes { buffer in
                Swift.Result { () throws(Failure) in try body(buffer) }
            }
            return try outcome.get()
        case .region(let region):
            defer { withExtendedLifetime(region) {} }
            return try body(UnsafeRawBufferPointer(start: region.start, count: region.count))
        }
    }
}

extension EncodedBytes: RandomAccessCollection {
    /// The bytes one at a time, from a position (what `_copyContents`
    /// hands back after a bulk copy).
    public struct Iterator: IteratorProtocol {
        private let bytes: EncodedBytes
        private var position: Int

        init(_ bytes: EncodedBytes, at position: Int) {
            self.bytes = bytes
            self.position = position
        }

        public mutating func next() -> UInt8? {
            guard position < bytes.endIndex else { return nil }
            defer { position += 1 }
            return bytes[position]
        }
    }

    public func makeIterator() -> Iterator { Iterator(self, at: 0) }

    /// `Array(bytes)` and `[UInt8](bytes)` come through here: one copy of
    /// the memory. The standard library's default walks the iterator byte
    /// by byte (measured: 4.9 s for 20 MB in a debug build, and far more
    /// under AddressSanitizer, where a batch's results are copied so).
    public func _copyContents(initializing buffer: UnsafeMutableBufferPointer<UInt8>) -> (Iterator, Int) {
        let copied = Swift.min(buffer.count, count)
        withUnsafeBytes { source in
            guard copied > 0, let destination = buffer.baseAddress, let origin = source.baseAddress else { return }
            UnsafeMutableRawPointer(destination).copyMemory(from: origin, byteCount: copied)
        }
        return (Iterator(self, at: copied), copied)
    }

    public var startIndex: Int { 0 }

    public var endIndex: Int {
        switch storage {
        case .array(let bytes): bytes.count
        case .region(let region): region.count
        }
    }

    public subscript(position: Int) -> UInt8 {
        switch storage {
        case .array(let bytes):
            return bytes[position]
        case .region(let region):
            precondition(position >= 0 && position < region.count, "index \(position) out of \(region.count) bytes")
            return withExtendedLifetime(region) { region.start.unsafelyUnwrapped.load(fromByteOffset: position, as: UInt8.self) }
        }
    }

    /// Copies (`Array(bytes)`, `ByteBuffer(bytes:)`, `Data(bytes)`) go
    /// through this, one `memcpy` rather than a byte at a time.
    public func withContiguousStorageIfAvailable<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result? {
        switch storage {
        case .array(let bytes):
            return try bytes.withUnsafeBufferPointer(body)
        case .region(let region):
            return try withExtendedLifetime(region) {
                try body(UnsafeBufferPointer(start: region.start?.assumingMemoryBound(to: UInt8.self), count: region.count))
            }
        }
    }
}

extension EncodedBytes: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: UInt8...) {
        self.init(elements)
    }
}

extension EncodedBytes: Equatable {
    public static func == (lhs: EncodedBytes, rhs: EncodedBytes) -> Bool {
        lhs.withUnsafeBytes { left in rhs.withUnsafeBytes { right in left.elementsEqual(right) } }
    }
}
