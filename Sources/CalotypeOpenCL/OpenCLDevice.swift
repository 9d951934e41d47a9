import COpenCL
import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOConcurrencyHelpers

/// Ways to make the device fail on purpose, for the scheduler's fallback
/// tests: `CALOTYPE_OPENCL_FAULT=build|alloc|kernel|readback`.
public enum OpenCLFault: String, Sendable, CaseIterable {
    /// The kernels fail to build at start (the backend cannot be created;
    /// the error carries the compiler's log).
    case build
    /// Every device buffer allocation fails (`CL_MEM_OBJECT_ALLOCATION_FAILURE`).
    case alloc
    /// Every kernel launch fails (`CL_OUT_OF_RESOURCES`).
    case kernel
    /// Mapping the result for reading fails (`CL_OUT_OF_RESOURCES`).
    case readback

}

/// One OpenCL device ready to run jobs: its context, the built program,
/// a few workers (each a command queue with kernels of its own) and a
/// bounded pool of device buffers reused across jobs.
final class OpenCLDevice: @unchecked Sendable {
    // Immutable after init, except the pool and the worker set, which lock.
    let info: OpenCLDeviceInfo
    let context: CLContext
    let program: CLProgram
    let programOrigin: OpenCLProgramBuilder.Origin
    let pool: OpenCLBufferPool
    let fault: OpenCLFault?
    /// Device-resident colour tables (present with double precision).
    let colourTables: ColourTables?
    /// Largest single buffer Calotype will allocate on this device.
    let maxBufferBytes: Int
    private let workers: OpenCLWorkerSet

    struct ColourTables {
        let sRGBToLinear: CLBuffer
        let linearToSRGB: CLBuffer
        let cubeRoot: CLBuffer
        /// vips_sharpen's default curve, indexed by L - blurred L + 32768.
        let sharpenCurve: CLBuffer
    }

    static let kernelNames = ["remap", "embed", "box_v", "box_h", "reduce_v", "reduce_h", "conv_vector", "conv_int", "conv_short", "lookup"]
    static let doubleKernelNames = ["grey", "sharpen_lightness", "sharpen_apply"]

    init(
        info: OpenCLDeviceInfo,
        workers workerCount: Int,
        cacheDirectory: URL?,
        kernelsFile: URL?,
        fault: OpenCLFault?,
        maxBufferBytes: Int?,
        pooledBuffers: Int
    ) throws(ProcessingError) {
        self.info = info
        self.fault = fault
        var status: cl_int = CL_SUCCESS
        var device: cl_device_id? = info.handles.device
        guard let rawContext = clCreateContext(nil, 1, &device, nil, nil, &status), status == CL_SUCCESS else {
            throw OpenCLFailure(call: "clCreateContext", status: status).processingError("context creation on \(info.name)")
        }
        context = CLContext(owning: rawContext)
        let builder = OpenCLProgramBuilder(
            context: context,
            device: info,
            cacheDirectory: cacheDirectory,
            kernelsFile: kernelsFile,
            injectBuildFailure: fault == .build
        )
        (program, programOrigin) = try builder.build()

        let limit = maxBufferBytes.map { min($0, info.maxAllocation) } ?? info.maxAllocation
        self.maxBufferBytes = limit
        pool = OpenCLBufferPool(
            context: context,
            maxBuffers: pooledBuffers,
            maxBytes: max(limit, info.globalMemory / 4),
            injectFailure: fault == .alloc
        )

        var names = Self.kernelNames
        if info.hasDoubles { names += Self.doubleKernelNames }
        var made: [OpenCLWorker] = []
        for _ in 0..<max(1, workerCount) {
            do {
                made.append(try OpenCLWorker(context: context, device: info, program: program, kernelNames: names, fault: fault))
            } catch {
                throw error.processingError("preparing a command queue on \(info.name)")
            }
        }
        workers = OpenCLWorkerSet(made)

        if info.hasDoubles {
            do {
                colourTables = ColourTables(
                    sRGBToLinear: try Self.constant(OpenCLTables.sRGBToLinear, context: context),
                    linearToSRGB: try Self.constant(OpenCLTables.linearToSRGB, context: context),
                    cubeRoot: try Self.constant(OpenCLTables.cubeRoot, context: context),
                    sharpenCurve: try Self.constant(OpenCLTables.sharpenCurve(), context: context)
                )
            } catch {
                throw error.processingError("uploading the colour tables to \(info.name)")
            }
        } else {
            colourTables = nil
        }
    }

    /// A read-only device buffer holding `values`.
    private static func constant<T>(_ values: [T], context: CLContext) throws(OpenCLFailure) -> CLBuffer {
        var status: cl_int = CL_SUCCESS
        let bytes = values.count * MemoryLayout<T>.stride
        let raw = values.withUnsafeBytes { buffer in
            clCreateBuffer(
                context.raw,
                cl_mem_flags(CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR),
                bytes,
                UnsafeMutableRawPointer(mutating: buffer.baseAddress),
                &status
            )
        }
        try clCheck(status, "clCreateBuffer")
        guard let raw else { throw OpenCLFailure(call: "clCreateBuffer", status: CL_MEM_OBJECT_ALLOCATION_FAILURE) }
        return CLBuffer(owning: raw, capacity: bytes)
    }

    /// Runs `body` with a worker of its own, waiting (on the calling thread,
    /// which is one of the backend's pool threads) while all are busy.
    func withWorker<T>(_ body: (OpenCLWorker) throws(ProcessingError) -> T) throws(ProcessingError) -> T {
        let worker = workers.acquire()
        defer { workers.release(worker) }
        return try body(worker)
    }
}

/// A command queue and kernels of its own: one job at a time.
final class OpenCLWorker: @unchecked Sendable {
    let queue: CLCommandQueue
    private let kernels: [String: CLKernel]
    private let localSize: [Int]?
    let fault: OpenCLFault?

    enum Argument {
        case buffer(CLBuffer)
        case int(Int)
        case int4(Int, Int, Int, Int)
    }

    init(context: CLContext, device: OpenCLDeviceInfo, program: CLProgram, kernelNames: [String], fault: OpenCLFault?) throws(OpenCLFailure) {
        self.fault = fault
        var status: cl_int = CL_SUCCESS
        guard let rawQueue = clCreateCommandQueue(context.raw, device.handles.device, 0, &status), status == CL_SUCCESS else {
            throw OpenCLFailure(call: "clCreateCommandQueue", status: status)
        }
        queue = CLCommandQueue(owning: rawQueue)
        var kernels: [String: CLKernel] = [:]
        var smallestGroup = Int.max
        for name in kernelNames {
            guard let raw = clCreateKernel(program.raw, name, &status), status == CL_SUCCESS else {
                throw OpenCLFailure(call: "clCreateKernel(\(name))", status: status)
            }
            kernels[name] = CLKernel(owning: raw, name: name)
            var group = 0
            if clGetKernelWorkGroupInfo(
                raw,
                device.handles.device,
                cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                MemoryLayout<Int>.size,
                &group,
                nil
            ) == CL_SUCCESS {
                smallestGroup = min(smallestGroup, group)
            }
        }
        self.kernels = kernels
        // One fixed work-group shape keeps drivers that compile per shape
        // (PoCL) to a single variant per kernel.
        localSize = smallestGroup >= 64 ? [16, 4] : nil
    }

    /// Enqueues kernel `name` over a `width` x `height` range.
    func launch(_ name: String, width: Int, height: Int, _ arguments: [Argument]) throws(OpenCLFailure) {
        guard let kernel = kernels[name] else {
            throw OpenCLFailure(call: "clCreateKernel(\(name))", status: CL_INVALID_KERNEL_NAME)
        }
        for (index, argument) in arguments.enumerated() {
            let status: cl_int
            switch argument {
            case .buffer(let buffer):
                var mem: cl_mem? = buffer.raw
                status = clSetKernelArg(kernel.raw, cl_uint(index), MemoryLayout<cl_mem?>.size, &mem)
            case .int(let value):
                var v = cl_int(truncatingIfNeeded: value)
                status = clSetKernelArg(kernel.raw, cl_uint(index), MemoryLayout<cl_int>.size, &v)
            case .int4(let a, let b, let c, let d):
                var v: [cl_int] = [cl_int(a), cl_int(b), cl_int(c), cl_int(d)]
                status = clSetKernelArg(kernel.raw, cl_uint(index), 16, &v)
            }
            try clCheck(status, "clSetKernelArg(\(name), \(index))")
        }
        if fault == .kernel {
            throw OpenCLFailure(call: "clEnqueueNDRangeKernel(\(name)) [injected]", status: CL_OUT_OF_RESOURCES)
        }
        var global: [Int]
        var local = localSize
        if let groups = localSize {
            global = [roundUp(width, groups[0]), roundUp(height, groups[1])]
        } else {
            global = [width, height]
            local = nil
        }
        let status: cl_int
        if var local {
            status = clEnqueueNDRangeKernel(queue.raw, kernel.raw, 2, nil, &global, &local, 0, nil, nil)
        } else {
            status = clEnqueueNDRangeKernel(queue.raw, kernel.raw, 2, nil, &global, nil, 0, nil, nil)
        }
        try clCheck(status, "clEnqueueNDRangeKernel(\(name))")
    }

    /// Maps the first `count` bytes of `buffer` into host memory (blocking):
    /// zero-copy on CPU devices, a pinned staging area on discrete GPUs.
    /// `forWriting` maps with `CL_MAP_WRITE_INVALIDATE_REGION`, else `CL_MAP_READ`.
    func map(_ buffer: CLBuffer, count: Int, forWriting: Bool) throws(OpenCLFailure) -> UnsafeMutableRawPointer {
        if fault == .readback && !forWriting {
            throw OpenCLFailure(call: "clEnqueueMapBuffer [injected]", status: CL_OUT_OF_RESOURCES)
        }
        var status: cl_int = CL_SUCCESS
        let flags = cl_map_flags(forWriting ? CL_MAP_WRITE_INVALIDATE_REGION : CL_MAP_READ)
        let pointer = clEnqueueMapBuffer(queue.raw, buffer.raw, cl_bool(CL_TRUE), flags, 0, max(count, 1), 0, nil, nil, &status)
        try clCheck(status, "clEnqueueMapBuffer")
        guard let pointer else { throw OpenCLFailure(call: "clEnqueueMapBuffer", status: CL_MAP_FAILURE) }
        return pointer
    }

    func unmap(_ buffer: CLBuffer, _ pointer: UnsafeMutableRawPointer) throws(OpenCLFailure) {
        try clCheck(clEnqueueUnmapMemObject(queue.raw, buffer.raw, pointer, 0, nil, nil), "clEnqueueUnmapMemObject")
    }

    /// Copies `values` into `buffer` (blocking).
    func write<T>(_ values: [T], to buffer: CLBuffer) throws(OpenCLFailure) {
        let count = values.count * MemoryLayout<T>.stride
        guard count > 0 else { return }
        let status = values.withUnsafeBytes { bytes in
            clEnqueueWriteBuffer(queue.raw, buffer.raw, cl_bool(CL_TRUE), 0, count, bytes.baseAddress, 0, nil, nil)
        }
        try clCheck(status, "clEnqueueWriteBuffer")
    }

    /// Waits for everything enqueued (used before returning buffers after a failure).
    func finish() {
        _ = clFinish(queue.raw)
    }
}

private func roundUp(_ value: Int, _ multiple: Int) -> Int {
    max(multiple, (value + multiple - 1) / multiple * multiple)
}

/// The workers of one device, handed out one job at a time.
/// NIO's condition lock (pthreads, which ThreadSanitizer sees), whose value
/// says whether a worker is idle; `idle` is touched only while it is held.
final class OpenCLWorkerSet: @unchecked Sendable {
    private let condition: ConditionLock<Bool>
    private var idle: [OpenCLWorker]

    init(_ workers: [OpenCLWorker]) {
        idle = workers
        condition = ConditionLock(value: !workers.isEmpty)
    }

    /// Blocks the calling thread (a job thread of the GPU lane) until a worker is idle.
    func acquire() -> OpenCLWorker {
        condition.lock(whenValue: true)
        let worker = idle.removeLast()
        condition.unlock(withValue: !idle.isEmpty)
        return worker
    }

    func release(_ worker: OpenCLWorker) {
        condition.lock()
        idle.append(worker)
        condition.unlock(withValue: true)
    }
}

/// A small, bounded pool of device buffers reused across jobs: a job takes
/// the smallest free buffer that is large enough and gives it back after.
final class OpenCLBufferPool: @unchecked Sendable {
    /// NIO's lock (pthreads, which ThreadSanitizer sees) over `free` and `allocations`.
    private let lock = NIOLock()
    private var free: [CLBuffer] = []
    private let context: CLContext
    let maxBuffers: Int
    let maxBytes: Int
    private let injectFailure: Bool
    private(set) var allocations = 0

    init(context: CLContext, maxBuffers: Int, maxBytes: Int, injectFailure: Bool) {
        self.context = context
        self.maxBuffers = maxBuffers
        self.maxBytes = maxBytes
        self.injectFailure = injectFailure
    }

    /// How many buffers were ever allocated (for the tests of reuse).
    var allocationCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return allocations
    }

    var pooledCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return free.count
    }

    func lease(_ bytes: Int, limit: Int) throws(OpenCLFailure) -> CLBuffer {
        lock.lock()
        if let index = free.indices.filter({ free[$0].capacity >= bytes }).min(by: { free[$0].capacity < free[$1].capacity }) {
            let buffer = free.remove(at: index)
            lock.unlock()
            return buffer
        }
        allocations += 1
        lock.unlock()
        if injectFailure {
            throw OpenCLFailure(call: "clCreateBuffer [injected]", status: CL_MEM_OBJECT_ALLOCATION_FAILURE)
        }
        // Round up so that slightly different sizes share buffers.
        var capacity = 1 << 16
        while capacity < bytes { capacity <<= 1 }
        capacity = min(capacity, max(bytes, limit))
        var status: cl_int = CL_SUCCESS
        let raw = clCreateBuffer(context.raw, cl_mem_flags(CL_MEM_READ_WRITE), capacity, nil, &status)
        try clCheck(status, "clCreateBuffer(\(capacity) bytes)")
        guard let raw else { throw OpenCLFailure(call: "clCreateBuffer", status: CL_MEM_OBJECT_ALLOCATION_FAILURE) }
        return CLBuffer(owning: raw, capacity: capacity)
    }

    /// Keeps the buffer for the next job, dropping the smallest ones when
    /// the pool is over its count or byte bound.
    func giveBack(_ buffers: [CLBuffer]) {
        lock.lock()
        free += buffers
        free.sort { $0.capacity > $1.capacity }
        while free.count > maxBuffers || free.reduce(0, { $0 + $1.capacity }) > maxBytes, !free.isEmpty {
            free.removeLast()
        }
        lock.unlock()
    }
}
