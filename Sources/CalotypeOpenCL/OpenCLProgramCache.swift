import COpenCL
import CalotypeCore
import CalotypeLibvips
import Foundation

/// Builds Calotype's OpenCL program for one device, through an on-disk
/// cache of compiled binaries keyed by device, driver version, build options
/// and source hash, so that a restart does not recompile.
struct OpenCLProgramBuilder {
    /// Where the binary came from, for `calotype devices` and the tests.
    enum Origin: String, Sendable {
        /// Loaded from the disk cache.
        case cache
        /// Compiled from source (and written to the cache).
        case compiled
    }

    // No fast-math options: the kernels must round exactly as libvips does
    // (they use no float division, so no correctly-rounded-divide option
    // is needed, which not every device supports).
    static let buildOptions = "-cl-std=CL1.2"

    /// The kernels' source: the package resource `Kernels/calotype.cl`.
    ///
    /// Looked up without `Bundle.module`, whose accessor stops the process
    /// when the resource bundle is missing (a binary copied without it):
    /// `CALOTYPE_OPENCL_KERNELS` (a file), the resource bundle beside the
    /// executable, then the source tree this was built from. A missing
    /// source is an error for the OpenCL backend only; the CPU backend runs.
    static func source(kernelsFile: URL?) throws(ProcessingError) -> String {
        var candidates: [URL] = []
        if let kernelsFile {
            candidates.append(kernelsFile)
        }
        var folders = [Bundle.main.bundleURL]
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            folders.append(executable.deletingLastPathComponent())
        }
        for folder in folders {
            candidates.append(folder.appendingPathComponent("Calotype_CalotypeOpenCL.resources/Kernels/calotype.cl"))
            candidates.append(folder.appendingPathComponent("Calotype_CalotypeOpenCL.bundle/Contents/Resources/Kernels/calotype.cl"))
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Kernels/calotype.cl"))
        for candidate in candidates {
            if let text = try? String(contentsOf: candidate, encoding: .utf8) {
                return text
            }
        }
        throw ProcessingError(
            .internal,
            "the OpenCL kernel source (Kernels/calotype.cl) was not found",
            detail: "looked in " + candidates.map(\.path).joined(separator: ", ")
        )
    }

    /// The cache folder: `CALOTYPE_CACHE_DIR`, else `$XDG_CACHE_HOME/calotype`,
    /// else `~/.cache/calotype`; binaries live in its `opencl` subfolder.
    static func defaultCacheDirectory(environment: [String: String]) -> URL {
        if let explicit = environment["CALOTYPE_CACHE_DIR"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit, isDirectory: true)
        }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg, isDirectory: true).appendingPathComponent("calotype", isDirectory: true)
        }
        let home =
            environment["HOME"].map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache/calotype", isDirectory: true)
    }

    let context: CLContext
    let device: OpenCLDeviceInfo
    let cacheDirectory: URL?
    /// The kernels' source in a file of the operator's choosing (`CALOTYPE_OPENCL_KERNELS`).
    let kernelsFile: URL?
    let injectBuildFailure: Bool

    /// The cache file for `source` on this device.
    func cacheFile(for source: String) -> URL? {
        guard let cacheDirectory else { return nil }
        let key = [
            source, Self.buildOptions, device.platform, device.name, device.vendor, device.driverVersion, device.openCLVersion,
        ].joined(separator: "\u{0}")
        let name = String(format: "%016llx", fnv1a64(Array(key.utf8))) + ".bin"
        return cacheDirectory.appendingPathComponent("opencl", isDirectory: true).appendingPathComponent(name)
    }

    func build() throws(ProcessingError) -> (CLProgram, Origin) {
        var source = try Self.source(kernelsFile: kernelsFile)
        if injectBuildFailure {
            source += "\n#error injected build failure (CALOTYPE_OPENCL_FAULT=build)\n"
        }
        let file = injectBuildFailure ? nil : cacheFile(for: source)
        if let file, let binary = try? Data(contentsOf: file), !binary.isEmpty,
            let program = try? buildFromBinary([UInt8](binary))
        {
            return (program, .cache)
        }
        let program: CLProgram
        do {
            program = try buildFromSource(source)
        } catch {
            throw ProcessingError(
                .backendFault,
                "building the OpenCL kernels for \(device.name) failed",
                detail: error.description
            )
        }
        if let file, let binary = try? binary(of: program) {
            store(binary, at: file)
        }
        return (program, .compiled)
    }

    private func buildFromSource(_ source: String) throws(OpenCLFailure) -> CLProgram {
        var status: cl_int = CL_SUCCESS
        let raw: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(context.raw, 1, &pointer, &length, &status)
        }
        try clCheck(status, "clCreateProgramWithSource")
        guard let raw else { throw OpenCLFailure(call: "clCreateProgramWithSource", status: CL_OUT_OF_HOST_MEMORY) }
        let program = CLProgram(owning: raw)
        try compile(program)
        return program
    }

    private func buildFromBinary(_ binary: [UInt8]) throws(OpenCLFailure) -> CLProgram {
        var status: cl_int = CL_SUCCESS
        var binaryStatus: cl_int = CL_SUCCESS
        var length = binary.count
        var device: cl_device_id? = device.handles.device
        let raw: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return clCreateProgramWithBinary(context.raw, 1, &device, &length, &pointer, &binaryStatus, &status)
        }
        try clCheck(status, "clCreateProgramWithBinary")
        try clCheck(binaryStatus, "clCreateProgramWithBinary (binary status)")
        guard let raw else { throw OpenCLFailure(call: "clCreateProgramWithBinary", status: CL_INVALID_BINARY) }
        let program = CLProgram(owning: raw)
        try compile(program)
        return program
    }

    private func compile(_ program: CLProgram) throws(OpenCLFailure) {
        var device: cl_device_id? = device.handles.device
        let status = clBuildProgram(program.raw, 1, &device, Self.buildOptions, nil, nil)
        guard status == CL_SUCCESS else {
            var failure = OpenCLFailure(call: "clBuildProgram", status: status)
            failure.log = buildLog(program)
            throw failure
        }
    }

    private func buildLog(_ program: CLProgram) -> String {
        var size = 0
        let device = device.handles.device
        guard clGetProgramBuildInfo(program.raw, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size) == CL_SUCCESS,
            size > 0
        else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetProgramBuildInfo(program.raw, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil) == CL_SUCCESS else {
            return ""
        }
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func binary(of program: CLProgram) throws(OpenCLFailure) -> [UInt8] {
        var size = 0
        try clCheck(
            clGetProgramInfo(program.raw, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
            "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)"
        )
        guard size > 0 else { return [] }
        var binary = [UInt8](repeating: 0, count: size)
        let status = binary.withUnsafeMutableBufferPointer { bytes in
            var pointer: UnsafeMutablePointer<UInt8>? = bytes.baseAddress
            return clGetProgramInfo(
                program.raw,
                cl_program_info(CL_PROGRAM_BINARIES),
                MemoryLayout<UnsafeMutablePointer<UInt8>?>.size,
                &pointer,
                nil
            )
        }
        try clCheck(status, "clGetProgramInfo(CL_PROGRAM_BINARIES)")
        return binary
    }

    /// Writes atomically (temporary file, then rename): concurrent starts
    /// never read half a binary. A cache that cannot be written is skipped.
    private func store(_ binary: [UInt8], at file: URL) {
        guard !binary.isEmpty else { return }
        let folder = file.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let temporary = folder.appendingPathComponent(".\(file.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
            try Data(binary).write(to: temporary)
            if rename(temporary.path, file.path) != 0 {
                try? FileManager.default.removeItem(at: temporary)
            }
        } catch {
            return
        }
    }
}

/// 64-bit FNV-1a: a stable hash for cache keys (not for security).
func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}
