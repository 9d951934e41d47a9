import COpenCL
import CalotypeCore
import CalotypeLibvips

/// The OpenCL ICD loader, opened at run time (`ccl_load` in the COpenCL
/// shim) rather than linked, so that Calotype starts and runs on the CPU on
/// machines without any OpenCL library, and reports "no OpenCL platform".
///
/// The functions below shadow the C declarations of the same names within
/// this module: every OpenCL call of the backend goes through the loaded
/// table. Without a loader they answer `CL_PLATFORM_NOT_FOUND_KHR` (and no
/// object), which discovery reports as "no platform"; nothing else is ever
/// called without a device.
enum OpenCLLibrary {
    static let api: ccl_api? = {
        var api = ccl_api()
        return ccl_load(&api) == 1 ? api : nil
    }()

    static var isLoaded: Bool { api != nil }
}

private let missing: cl_int = -1001  // CL_PLATFORM_NOT_FOUND_KHR

private func fail<T>(_ error: UnsafeMutablePointer<cl_int>?) -> T? {
    error?.pointee = missing
    return nil
}

func clGetPlatformIDs(_ count: cl_uint, _ platforms: UnsafeMutablePointer<cl_platform_id?>?, _ found: UnsafeMutablePointer<cl_uint>?) -> cl_int {
    guard let f = OpenCLLibrary.api?.clGetPlatformIDs else { return missing }
    return f(count, platforms, found)
}

func clGetPlatformInfo(
    _ platform: cl_platform_id?,
    _ name: cl_platform_info,
    _ size: Int,
    _ value: UnsafeMutableRawPointer?,
    _ returned: UnsafeMutablePointer<Int>?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clGetPlatformInfo else { return missing }
    return f(platform, name, size, value, returned)
}

func clGetDeviceIDs(
    _ platform: cl_platform_id?,
    _ type: cl_device_type,
    _ count: cl_uint,
    _ devices: UnsafeMutablePointer<cl_device_id?>?,
    _ found: UnsafeMutablePointer<cl_uint>?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clGetDeviceIDs else { return missing }
    return f(platform, type, count, devices, found)
}

func clGetDeviceInfo(
    _ device: cl_device_id?,
    _ name: cl_device_info,
    _ size: Int,
    _ value: UnsafeMutableRawPointer?,
    _ returned: UnsafeMutablePointer<Int>?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clGetDeviceInfo else { return missing }
    return f(device, name, size, value, returned)
}

func clCreateContext(
    _ properties: UnsafePointer<cl_context_properties>?,
    _ count: cl_uint,
    _ devices: UnsafePointer<cl_device_id?>?,
    _ notify: (@convention(c) (UnsafePointer<CChar>?, UnsafeRawPointer?, Int, UnsafeMutableRawPointer?) -> Void)?,
    _ user: UnsafeMutableRawPointer?,
    _ error: UnsafeMutablePointer<cl_int>?
) -> cl_context? {
    guard let f = OpenCLLibrary.api?.clCreateContext else { return fail(error) }
    return f(properties, count, devices, notify, user, error)
}

@discardableResult
func clReleaseContext(_ context: cl_context?) -> cl_int {
    guard let f = OpenCLLibrary.api?.clReleaseContext else { return missing }
    return f(context)
}

func clCreateCommandQueue(
    _ context: cl_context?,
    _ device: cl_device_id?,
    _ properties: cl_command_queue_properties,
    _ error: UnsafeMutablePointer<cl_int>?
) -> cl_command_queue? {
    guard let f = OpenCLLibrary.api?.clCreateCommandQueue else { return fail(error) }
    return f(context, device, properties, error)
}

@discardableResult
func clReleaseCommandQueue(_ queue: cl_command_queue?) -> cl_int {
    guard let f = OpenCLLibrary.api?.clReleaseCommandQueue else { return missing }
    return f(queue)
}

func clCreateProgramWithSource(
    _ context: cl_context?,
    _ count: cl_uint,
    _ strings: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
    _ lengths: UnsafePointer<Int>?,
    _ error: UnsafeMutablePointer<cl_int>?
) -> cl_program? {
    guard let f = OpenCLLibrary.api?.clCreateProgramWithSource else { return fail(error) }
    return f(context, count, strings, lengths, error)
}

func clCreateProgramWithBinary(
    _ context: cl_context?,
    _ count: cl_uint,
    _ devices: UnsafePointer<cl_device_id?>?,
    _ lengths: UnsafePointer<Int>?,
    _ binaries: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ status: UnsafeMutablePointer<cl_int>?,
    _ error: UnsafeMutablePointer<cl_int>?
) -> cl_program? {
    guard let f = OpenCLLibrary.api?.clCreateProgramWithBinary else { return fail(error) }
    return f(context, count, devices, lengths, binaries, status, error)
}

func clBuildProgram(
    _ program: cl_program?,
    _ count: cl_uint,
    _ devices: UnsafePointer<cl_device_id?>?,
    _ options: UnsafePointer<CChar>?,
    _ notify: (@convention(c) (cl_program?, UnsafeMutableRawPointer?) -> Void)?,
    _ user: UnsafeMutableRawPointer?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clBuildProgram else { return missing }
    return f(program, count, devices, options, notify, user)
}

func clGetProgramInfo(
    _ program: cl_program?,
    _ name: cl_program_info,
    _ size: Int,
    _ value: UnsafeMutableRawPointer?,
    _ returned: UnsafeMutablePointer<Int>?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clGetProgramInfo else { return missing }
    return f(program, name, size, value, returned)
}

func clGetProgramBuildInfo(
    _ program: cl_program?,
    _ device: cl_device_id?,
    _ name: cl_program_build_info,
    _ size: Int,
    _ value: UnsafeMutableRawPointer?,
    _ returned: UnsafeMutablePointer<Int>?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clGetProgramBuildInfo else { return missing }
    return f(program, device, name, size, value, returned)
}

@discardableResult
func clReleaseProgram(_ program: cl_program?) -> cl_int {
    guard let f = OpenCLLibrary.api?.clReleaseProgram else { return missing }
    return f(program)
}

func clCreateKernel(_ program: cl_program?, _ name: UnsafePointer<CChar>?, _ error: UnsafeMutablePointer<cl_int>?) -> cl_kernel? {
    guard let f = OpenCLLibrary.api?.clCreateKernel else { return fail(error) }
    return f(program, name, error)
}

func clSetKernelArg(_ kernel: cl_kernel?, _ index: cl_uint, _ size: Int, _ value: UnsafeRawPointer?) -> cl_int {
    guard let f = OpenCLLibrary.api?.clSetKernelArg else { return missing }
    return f(kernel, index, size, value)
}

func clGetKernelWorkGroupInfo(
    _ kernel: cl_kernel?,
    _ device: cl_device_id?,
    _ name: cl_kernel_work_group_info,
    _ size: Int,
    _ value: UnsafeMutableRawPointer?,
    _ returned: UnsafeMutablePointer<Int>?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clGetKernelWorkGroupInfo else { return missing }
    return f(kernel, device, name, size, value, returned)
}

@discardableResult
func clReleaseKernel(_ kernel: cl_kernel?) -> cl_int {
    guard let f = OpenCLLibrary.api?.clReleaseKernel else { return missing }
    return f(kernel)
}

func clCreateBuffer(
    _ context: cl_context?,
    _ flags: cl_mem_flags,
    _ size: Int,
    _ host: UnsafeMutableRawPointer?,
    _ error: UnsafeMutablePointer<cl_int>?
) -> cl_mem? {
    guard let f = OpenCLLibrary.api?.clCreateBuffer else { return fail(error) }
    return f(context, flags, size, host, error)
}

@discardableResult
func clReleaseMemObject(_ memory: cl_mem?) -> cl_int {
    guard let f = OpenCLLibrary.api?.clReleaseMemObject else { return missing }
    return f(memory)
}

func clEnqueueNDRangeKernel(
    _ queue: cl_command_queue?,
    _ kernel: cl_kernel?,
    _ dimensions: cl_uint,
    _ offset: UnsafePointer<Int>?,
    _ global: UnsafePointer<Int>?,
    _ local: UnsafePointer<Int>?,
    _ waits: cl_uint,
    _ waitList: UnsafePointer<cl_event?>?,
    _ event: UnsafeMutablePointer<cl_event?>?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clEnqueueNDRangeKernel else { return missing }
    return f(queue, kernel, dimensions, offset, global, local, waits, waitList, event)
}

func clEnqueueWriteBuffer(
    _ queue: cl_command_queue?,
    _ buffer: cl_mem?,
    _ blocking: cl_bool,
    _ offset: Int,
    _ size: Int,
    _ pointer: UnsafeRawPointer?,
    _ waits: cl_uint,
    _ waitList: UnsafePointer<cl_event?>?,
    _ event: UnsafeMutablePointer<cl_event?>?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clEnqueueWriteBuffer else { return missing }
    return f(queue, buffer, blocking, offset, size, pointer, waits, waitList, event)
}

func clEnqueueReadBuffer(
    _ queue: cl_command_queue?,
    _ buffer: cl_mem?,
    _ blocking: cl_bool,
    _ offset: Int,
    _ size: Int,
    _ pointer: UnsafeMutableRawPointer?,
    _ waits: cl_uint,
    _ waitList: UnsafePointer<cl_event?>?,
    _ event: UnsafeMutablePointer<cl_event?>?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clEnqueueReadBuffer else { return missing }
    return f(queue, buffer, blocking, offset, size, pointer, waits, waitList, event)
}

func clEnqueueMapBuffer(
    _ queue: cl_command_queue?,
    _ buffer: cl_mem?,
    _ blocking: cl_bool,
    _ flags: cl_map_flags,
    _ offset: Int,
    _ size: Int,
    _ waits: cl_uint,
    _ waitList: UnsafePointer<cl_event?>?,
    _ event: UnsafeMutablePointer<cl_event?>?,
    _ error: UnsafeMutablePointer<cl_int>?
) -> UnsafeMutableRawPointer? {
    guard let f = OpenCLLibrary.api?.clEnqueueMapBuffer else { return fail(error) }
    return f(queue, buffer, blocking, flags, offset, size, waits, waitList, event, error)
}

func clEnqueueUnmapMemObject(
    _ queue: cl_command_queue?,
    _ memory: cl_mem?,
    _ pointer: UnsafeMutableRawPointer?,
    _ waits: cl_uint,
    _ waitList: UnsafePointer<cl_event?>?,
    _ event: UnsafeMutablePointer<cl_event?>?
) -> cl_int {
    guard let f = OpenCLLibrary.api?.clEnqueueUnmapMemObject else { return missing }
    return f(queue, memory, pointer, waits, waitList, event)
}

func clFinish(_ queue: cl_command_queue?) -> cl_int {
    guard let f = OpenCLLibrary.api?.clFinish else { return missing }
    return f(queue)
}
