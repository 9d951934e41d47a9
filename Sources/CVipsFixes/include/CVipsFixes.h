#ifndef CALOTYPE_CVIPSFIXES_H
#define CALOTYPE_CVIPSFIXES_H

/*
 * Fixes for defects of the libvips versions Calotype runs on, compiled into
 * every binary that links the libvips backend. See threadset-idle-exit.c.
 */

/* Whether the threadset idle-exit fix is needed and in force:
 *   0  not needed: this libvips (8.15.4 or later) has the upstream fix;
 *   1  needed and in force: libvips' worker threads wait for work without a
 *      timeout, so the racy exit cannot happen;
 *   -1 needed but NOT in force: the process resolves libvips'
 *      vips_semaphore_down_timeout to another definition (the program was
 *      linked without exporting its symbols, or something preloaded one).
 */
int cv_threadset_idle_exit_fix(void);

#endif
