#ifndef CALOTYPE_COPENCL_SHIM_H
#define CALOTYPE_COPENCL_SHIM_H
/* OpenCL 1.2: the version every vendor's driver (and PoCL) implements. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>

/*
 * The OpenCL entry points Calotype uses, resolved at run time from the ICD
 * loader (libOpenCL.so.1) instead of linked: a machine without any OpenCL
 * library still runs Calotype (on the CPU), and reports "no OpenCL".
 * The prototypes above only give the types; nothing links against them.
 */
#define CCL_FUNCTIONS(X) \
    X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo) \
    X(clCreateContext) X(clReleaseContext) X(clCreateCommandQueue) X(clReleaseCommandQueue) \
    X(clCreateProgramWithSource) X(clCreateProgramWithBinary) X(clBuildProgram) \
    X(clGetProgramInfo) X(clGetProgramBuildInfo) X(clReleaseProgram) \
    X(clCreateKernel) X(clSetKernelArg) X(clGetKernelWorkGroupInfo) X(clReleaseKernel) \
    X(clCreateBuffer) X(clReleaseMemObject) X(clEnqueueNDRangeKernel) \
    X(clEnqueueWriteBuffer) X(clEnqueueReadBuffer) X(clEnqueueMapBuffer) \
    X(clEnqueueUnmapMemObject) X(clFinish)

typedef struct {
#define CCL_FIELD(name) __typeof__(&name) name;
    CCL_FUNCTIONS(CCL_FIELD)
#undef CCL_FIELD
} ccl_api;

/* Opens the ICD loader and fills `api`. Returns 1 when every entry point
 * was found, 0 when there is no loader (or an unusable one). */
static inline int ccl_load(ccl_api *api) {
    void *library = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) library = dlopen("libOpenCL.so", RTLD_NOW | RTLD_LOCAL);
    if (!library) return 0;
#define CCL_LOAD(name) api->name = (__typeof__(&name)) dlsym(library, #name); if (!api->name) return 0;
    CCL_FUNCTIONS(CCL_LOAD)
#undef CCL_LOAD
    return 1;
}
#endif
