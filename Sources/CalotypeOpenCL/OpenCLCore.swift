import COpenCL
import CalotypeCore
import CalotypeLibvips

/// A failed OpenCL call: which call, its status and, for builds, the log.
struct OpenCLFailure: Error, CustomStringConvertible {
    var call: String
    var status: cl_int
    var log: String?

    var description: String {
        let base = "\(call) failed with \(OpenCLFailure.name(of: status)) (\(status))"
        guard let log, !log.isEmpty else { return base }
        return "\(base):\n\(log)"
    }

    /// The device's fault, for the scheduler: try another backend.
    func processingError(_ stage: String) -> ProcessingError {
        ProcessingError(.backendFault, "OpenCL \(stage) failed", detail: description)
    }

    static func name(of status: cl_int) -> String {
        switch status {
        case CL_SUCCESS: "CL_SUCCESS"
        case CL_DEVICE_NOT_FOUND: "CL_DEVICE_NOT_FOUND"
        case CL_DEVICE_NOT_AVAILABLE: "CL_DEVICE_NOT_AVAILABLE"
        case CL_COMPILER_NOT_AVAILABLE: "CL_COMPILER_NOT_AVAILABLE"
        case CL_MEM_OBJECT_ALLOCATION_FAILURE: "CL_MEM_OBJECT_ALLOCATION_FAILURE"
        case CL_OUT_OF_RESOURCES: "CL_OUT_OF_RESOURCES"
        case CL_OUT_OF_HOST_MEMORY: "CL_OUT_OF_HOST_MEMORY"
        case CL_BUILD_PROGRAM_FAILURE: "CL_BUILD_PROGRAM_FAILURE"
        case CL_INVALID_VALUE: "CL_INVALID_VALUE"
        case CL_INVALID_DEVICE: "CL_INVALID_DEVICE"
        case CL_INVALID_BINARY: "CL_INVALID_BINARY"
        case CL_INVALID_BUFFER_SIZE: "CL_INVALID_BUFFER_SIZE"
        case CL_INVALID_KERNEL_NAME: "CL_INVALID_KERNEL_NAME"
        case CL_INVALID_KERNEL_ARGS: "CL_INVALID_KERNEL_ARGS"
        case CL_INVALID_ARG_SIZE: "CL_INVALID_ARG_SIZE"
        case CL_INVALID_WORK_GROUP_SIZE: "CL_INVALID_WORK_GROUP_SIZE"
        case CL_INVALID_GLOBAL_WORK_SIZE: "CL_INVALID_GLOBAL_WORK_SIZE"
        case CL_INVALID_MEM_OBJECT: "CL_INVALID_MEM_OBJECT"
        case CL_INVALID_COMMAND_QUEUE: "CL_INVALID_COMMAND_QUEUE"
        case CL_INVALID_PROGRAM_EXECUTABLE: "CL_INVALID_PROGRAM_EXECUTABLE"
        case clPlatformNotFoundKHR: "clPlatformNotFoundKHR"
        default: "OpenCL error"
        }
    }
}

/// `CL_PLATFORM_NOT_FOUND_KHR` (cl_ext.h): the ICD loader found no driver.
let clPlatformNotFoundKHR: cl_int = -1001

/// Throws unless `status` is `CL_SUCCESS`.
@inline(__always)
func clCheck(_ status: cl_int, _ call: String) throws(OpenCLFailure) {
    guard status == CL_SUCCESS else { throw OpenCLFailure(call: call, status: status) }
}

// MARK: - Owners: one Swift object per OpenCL object, released exactly once

/// Owns one OpenCL object (every OpenCL handle is an opaque pointer) and
/// releases it exactly once, with its own release call, when the last
/// reference goes. Retaining and releasing are thread-safe in OpenCL; what
/// each kind may be used for from several threads is said on its type.
final class CLOwned: @unchecked Sendable {
    let raw: OpaquePointer
    private let release: @Sendable (OpaquePointer) -> cl_int

    init(_ raw: OpaquePointer, release: @escaping @Sendable (OpaquePointer) -> cl_int) {
        self.raw = raw
        self.release = release
    }

    deinit { _ = release(raw) }
}

/// A `cl_context`. OpenCL contexts may be used from any thread.
struct CLContext: Sendable {
    let owned: CLOwned
    var raw: cl_context { owned.raw }
    init(owning raw: cl_context) { owned = CLOwned(raw) { clReleaseContext($0) } }
}

/// A `cl_command_queue`. A queue belongs to one worker at a time.
struct CLCommandQueue: Sendable {
    let owned: CLOwned
    var raw: cl_command_queue { owned.raw }
    init(owning raw: cl_command_queue) { owned = CLOwned(raw) { clReleaseCommandQueue($0) } }
}

/// A built `cl_program`. Programs may be shared between threads.
struct CLProgram: Sendable {
    let owned: CLOwned
    var raw: cl_program { owned.raw }
    init(owning raw: cl_program) { owned = CLOwned(raw) { clReleaseProgram($0) } }
}

/// A `cl_kernel`. `clSetKernelArg` is not thread-safe, so each worker has
/// kernels of its own and uses them from one thread at a time.
struct CLKernel: Sendable {
    let owned: CLOwned
    let name: String
    var raw: cl_kernel { owned.raw }
    init(owning raw: cl_kernel, name: String) {
        owned = CLOwned(raw) { clReleaseKernel($0) }
        self.name = name
    }
}

/// A device buffer (`cl_mem`) of `capacity` bytes.
struct CLBuffer: Sendable {
    let owned: CLOwned
    let capacity: Int
    var raw: cl_mem { owned.raw }
    init(owning raw: cl_mem, capacity: Int) {
        owned = CLOwned(raw) { clReleaseMemObject($0) }
        self.capacity = capacity
    }
}

// MARK: - Info queries

enum CLInfo {
    static func string(_ device: cl_device_id, _ parameter: cl_device_info) -> String {
        var size = 0
        guard clGetDeviceInfo(device, parameter, 0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetDeviceInfo(device, parameter, size, &bytes, nil) == CL_SUCCESS else { return "" }
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingTrailingSpaces()
    }

    static func value<T: FixedWidthInteger>(_ device: cl_device_id, _ parameter: cl_device_info, as type: T.Type) -> T {
        var value: UInt64 = 0
        _ = clGetDeviceInfo(device, parameter, MemoryLayout<T>.size, &value, nil)
        return T(truncatingIfNeeded: value)
    }

    static func platformString(_ platform: cl_platform_id, _ parameter: cl_platform_info) -> String {
        var size = 0
        guard clGetPlatformInfo(platform, parameter, 0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetPlatformInfo(platform, parameter, size, &bytes, nil) == CL_SUCCESS else { return "" }
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingTrailingSpaces()
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while let last = text.last, last == " " || last == "\n" { text.removeLast() }
        while let first = text.first, first == " " { text.removeFirst() }
        return text
    }
}
