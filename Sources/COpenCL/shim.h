#ifndef CALOTYPE_COPENCL_SHIM_H
#define CALOTYPE_COPENCL_SHIM_H
/* OpenCL 1.2: the version every vendor's driver (and PoCL) implements. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#endif
