// libFuzzer's entry for programs that have a main of their own
// (https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library):
// SwiftPM gives every executable target a main of its own, so the fuzz
// targets start libFuzzer's driver from there instead of linking its main.
#ifndef CLIBFUZZER_H
#define CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
