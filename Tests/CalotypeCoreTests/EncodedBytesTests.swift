import CalotypeCore
import Testing

@Suite("Encoded bytes, held once")
struct EncodedBytesTests {
    /// Memory someone else allocated, freed when its owner goes.
    final class Allocation {
        let pointer: UnsafeMutableRawPointer
        let count: Int

        init(_ bytes: [UInt8]) {
            count = bytes.count
            pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            pointer.copyMemory(from: bytes, byteCount: bytes.count)
        }

        deinit { pointer.deallocate() }
    }

    @Test func aRegionIsReadInPlaceAndKeepsItsOwnerUntilTheLastCopyGoes() {
        weak var watched: Allocation?
        var copies: [EncodedBytes] = []
        do {
            let allocation = Allocation([1, 2, 3, 4, 5])
            watched = allocation
            let bytes = EncodedBytes(borrowing: allocation.pointer, count: allocation.count, owner: allocation)
            // Read where it lies, not copied.
            #expect(bytes.withUnsafeBytes { $0.baseAddress } == UnsafeRawPointer(allocation.pointer))
            copies = [bytes, bytes]
        }
        #expect(watched != nil, "the owner went while its bytes were still held")
        #expect(Array(copies[0]) == [1, 2, 3, 4, 5] && copies[1].count == 5 && copies[1][4] == 5)
        copies.removeAll()
        #expect(watched == nil, "the owner outlived every copy of its bytes")
    }

    @Test func anArrayAndARegionOfTheSameBytesAreEqual() {
        let allocation = Allocation([9, 8, 7])
        let region = EncodedBytes(borrowing: allocation.pointer, count: allocation.count, owner: allocation)
        #expect(region == [9, 8, 7])
        #expect(region != [9, 8])
        #expect(region.withContiguousStorageIfAvailable { Array($0) } == [9, 8, 7])
        // Copied whole (in one go), in part, and read on from where a copy stopped.
        #expect(Array(region) == [9, 8, 7] && [UInt8](region) == [9, 8, 7])
        let two = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 2)
        defer { two.deallocate() }
        var (rest, copied) = region._copyContents(initializing: two)
        #expect(copied == 2 && Array(two) == [9, 8] && rest.next() == 7 && rest.next() == nil)
        let empty = EncodedBytes(borrowing: nil, count: 0, owner: allocation)
        #expect(empty.isEmpty && empty == [] && Array(empty) == [])
    }
}
