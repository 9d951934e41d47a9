import COpenCL
import CalotypeCore
import CalotypeLibvips

/// One OpenCL device as the driver describes it.
public struct OpenCLDeviceInfo: Sendable, Hashable {
    public enum DeviceType: String, Sendable, Hashable {
        case gpu, accelerator, cpu, other
    }

    /// Position in discovery order (platform by platform), for names like `opencl:0`.
    public var index: Int
    public var platform: String
    public var name: String
    public var vendor: String
    public var driverVersion: String
    /// `OpenCL 1.2 ...` / `OpenCL 3.0 ...`, as the device reports it.
    public var openCLVersion: String
    public var type: DeviceType
    public var computeUnits: Int
    public var globalMemory: Int
    public var maxAllocation: Int
    /// Whether the device does double precision (needed for exact grey and sharpen).
    public var hasDoubles: Bool
    /// Whether the driver says the device can be used.
    public var available: Bool
    /// Whether Calotype would serve jobs on it with this configuration.
    public var admitted: Bool

    /// OpenCL ids are plain handles owned by the driver for the process's
    /// lifetime; they are safe to pass between threads.
    struct Handles: @unchecked Sendable {
        let platform: cl_platform_id
        let device: cl_device_id
    }
    let handles: Handles

    public static func == (a: Self, b: Self) -> Bool { a.index == b.index && a.name == b.name && a.platform == b.platform }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(index)
        hasher.combine(name)
    }
}

/// What OpenCL looks like on this machine. No loader, no platform or no
/// device are ordinary answers, not errors.
public struct OpenCLDiscovery: Sendable {
    public enum State: Sendable, Equatable {
        /// At least one device was found (admitted or not).
        case devices
        /// No OpenCL library at all (`libOpenCL.so.1`, the ICD loader).
        case noLoader
        /// The ICD loader found no platform (no driver installed).
        case noPlatform
        /// Platforms exist but report no device.
        case noDevice
        /// The loader failed in another way.
        case failed(String)
    }

    public var state: State
    /// Every device found, admitted or not.
    public var devices: [OpenCLDeviceInfo]
    /// Whether CPU devices (PoCL) were admitted.
    public var allowsCPUDevices: Bool

    /// The devices Calotype would use.
    public var admitted: [OpenCLDeviceInfo] { devices.filter(\.admitted) }

    /// Lists platforms and devices. GPUs and accelerators are admitted;
    /// CPU devices only when `allowCPUDevices` (`CALOTYPE_OPENCL_CPU=1`).
    ///
    /// The driver is asked once per process (some drivers do not like being
    /// enumerated while other threads use them); later calls reuse the answer.
    public static func discover(allowCPUDevices: Bool) -> OpenCLDiscovery {
        var discovery = enumerated
        discovery.allowsCPUDevices = allowCPUDevices
        for index in discovery.devices.indices {
            let device = discovery.devices[index]
            discovery.devices[index].admitted =
                device.available && (device.type == .gpu || device.type == .accelerator || (device.type == .cpu && allowCPUDevices))
        }
        return discovery
    }

    private static let enumerated = enumerate()

    private static func enumerate() -> OpenCLDiscovery {
        let allowCPUDevices = false
        guard OpenCLLibrary.isLoaded else {
            return OpenCLDiscovery(state: .noLoader, devices: [], allowsCPUDevices: allowCPUDevices)
        }
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        if status == clPlatformNotFoundKHR || (status == CL_SUCCESS && count == 0) {
            return OpenCLDiscovery(state: .noPlatform, devices: [], allowsCPUDevices: allowCPUDevices)
        }
        guard status == CL_SUCCESS else {
            let failure = OpenCLFailure(call: "clGetPlatformIDs", status: status)
            return OpenCLDiscovery(state: .failed(failure.description), devices: [], allowsCPUDevices: allowCPUDevices)
        }
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        guard clGetPlatformIDs(count, &platforms, nil) == CL_SUCCESS else {
            return OpenCLDiscovery(state: .noPlatform, devices: [], allowsCPUDevices: allowCPUDevices)
        }
        var devices: [OpenCLDeviceInfo] = []
        for case let platform? in platforms {
            let platformName = CLInfo.platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            var deviceCount: cl_uint = 0
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount) == CL_SUCCESS, deviceCount > 0 else {
                continue
            }
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil) == CL_SUCCESS else { continue }
            for case let device? in ids {
                let rawType = CLInfo.value(device, cl_device_info(CL_DEVICE_TYPE), as: cl_device_type.self)
                let type: OpenCLDeviceInfo.DeviceType =
                    rawType & cl_device_type(CL_DEVICE_TYPE_GPU) != 0
                    ? .gpu
                    : rawType & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0
                        ? .accelerator
                        : rawType & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 ? .cpu : .other
                let available = CLInfo.value(device, cl_device_info(CL_DEVICE_AVAILABLE), as: cl_bool.self) != 0
                let extensions = CLInfo.string(device, cl_device_info(CL_DEVICE_EXTENSIONS))
                devices.append(
                    OpenCLDeviceInfo(
                        index: devices.count,
                        platform: platformName,
                        name: CLInfo.string(device, cl_device_info(CL_DEVICE_NAME)),
                        vendor: CLInfo.string(device, cl_device_info(CL_DEVICE_VENDOR)),
                        driverVersion: CLInfo.string(device, cl_device_info(CL_DRIVER_VERSION)),
                        openCLVersion: CLInfo.string(device, cl_device_info(CL_DEVICE_VERSION)),
                        type: type,
                        computeUnits: Int(CLInfo.value(device, cl_device_info(CL_DEVICE_MAX_COMPUTE_UNITS), as: cl_uint.self)),
                        globalMemory: Int(clamping: CLInfo.value(device, cl_device_info(CL_DEVICE_GLOBAL_MEM_SIZE), as: cl_ulong.self)),
                        maxAllocation: Int(clamping: CLInfo.value(device, cl_device_info(CL_DEVICE_MAX_MEM_ALLOC_SIZE), as: cl_ulong.self)),
                        hasDoubles: extensions.split(separator: " ").contains("cl_khr_fp64"),
                        available: available,
                        admitted: false,
                        handles: .init(platform: platform, device: device)
                    )
                )
            }
        }
        return OpenCLDiscovery(state: devices.isEmpty ? .noDevice : .devices, devices: devices, allowsCPUDevices: allowCPUDevices)
    }
}
