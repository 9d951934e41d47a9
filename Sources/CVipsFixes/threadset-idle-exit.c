/*
 * libvips 8.13 to 8.15.3: a worker thread that has been idle for 15 s exits
 * in a way that races with a job taking it (libvips/iofuncs/threadset.c;
 * fixed upstream in 8.15.4 by "threadset: revise/simplify on top of
 * GAsyncQueue", #4137). Debian 12 ships 8.14.1.
 *
 * The race, in 8.14.1's threadset.c: the idle worker's wait,
 *     vips_semaphore_down_timeout(&member->idle, max_idle_time) == -1,
 * times out and the worker goes on to take the set's lock, unlink itself,
 * destroy its semaphore and free itself. Between the timeout and that lock,
 * vips_threadset_run() can pop the same member off the free list, write the
 * task into it and post its semaphore: a write into freed memory (an 88-byte
 * block, a glibc fastbin chunk) and a lock of a freed mutex. glibc notices
 * the damaged heap later ("malloc_consolidate(): unaligned fastbin chunk
 * detected", then abort); or the task is never run and the job hangs. It
 * needs an idle gap of 15 s or more followed by a change in how many libvips
 * threads are wanted, which is what a server sees after a quiet spell (and
 * more often with adaptive threads, which vary the threads per job).
 *
 * The fix: in those versions the idle wait above is the only caller of
 * vips_semaphore_down_timeout, and libvips calls it through its PLT, so the
 * definition below, exported by the executable, is the one libvips runs (ELF
 * symbol interposition: the executable comes first in the lookup order).
 * On an affected libvips it waits without a timeout, so idle workers stay
 * (as many as were ever busy at once: a few per core) and the racy exit is
 * never taken; vips_shutdown() still stops them through the kill flag. On a
 * fixed libvips it forwards to libvips' own function, unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <vips/vips.h>

#include "CVipsFixes.h"

/* 8.15.4 is the first release with the GAsyncQueue threadset. */
static int threadset_race_present(void) {
    int major = vips_version(0), minor = vips_version(1), micro = vips_version(2);
    if (major != 8) return major < 8;
    if (minor != 15) return minor < 15;
    return micro < 4;
}

typedef int (*down_timeout_function)(VipsSemaphore *, gint64);

int vips_semaphore_down_timeout(VipsSemaphore *semaphore, gint64 timeout) {
    if (threadset_race_present()) return vips_semaphore_down(semaphore);
    static down_timeout_function libvips_own;
    if (!g_atomic_pointer_get(&libvips_own))
        g_atomic_pointer_set(&libvips_own, (down_timeout_function)dlsym(RTLD_NEXT, "vips_semaphore_down_timeout"));
    down_timeout_function original = g_atomic_pointer_get(&libvips_own);
    /* No libvips after us (cannot happen while libvips is linked): wait without a timeout. */
    return original ? original(semaphore, timeout) : vips_semaphore_down(semaphore);
}

int cv_threadset_idle_exit_fix(void) {
    if (!threadset_race_present()) return 0;
    void *resolved = dlsym(RTLD_DEFAULT, "vips_semaphore_down_timeout");
    return resolved == (void *)vips_semaphore_down_timeout ? 1 : -1;
}
