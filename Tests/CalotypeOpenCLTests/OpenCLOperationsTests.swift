import CalotypeCore
import Testing

@testable import CalotypeOpenCL

/// GPU support is opt-in per operation: what is not listed as ported runs on the CPU.
@Suite("OpenCL: the operations it runs")
struct OpenCLOperationsTests {
    @Test func aDeviceRunsTheListedOperationsOnly() {
        #expect(OpenCLOperations.supported(hasDoubles: true) == Set(OpenCLOperations.ported.keys))
        #expect(OpenCLOperations.supported(hasDoubles: false) == Set(OpenCLOperations.ported.keys).subtracting([.sharpen, .grayscale]))
    }
}
