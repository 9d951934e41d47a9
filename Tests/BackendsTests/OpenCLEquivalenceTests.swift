import Backends
import Foundation
import Testing

@Suite("OpenCL backend: the same pictures as libvips", .serialized)
struct OpenCLEquivalenceTests {
    @Test(arguments: [
        "width=100", "width=64&height=64&fit=cover", "width=120&height=50&fit=fill", "width=90&height=90&fit=contain",
        "width=100&fast_shrink=false", "width=33", "width=7", "width=160", "width=300",
    ])
    func resizeFirstOnThePhoto(_ shorthand: String) async throws {
        try await compareBackends(try Fixture.photoJPEG.bytes, try recipe(shorthand), label: "photo.jpg")
    }
}
