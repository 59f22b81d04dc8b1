/* libFuzzer target: arbitrary bytes into the ASCII command parser (and, after a fuzzed
 * `binary 1%` or `binary 2%`, into the deframer too). Byte 0 chooses the build (fuzz_mode in
 * fuzz_common.h): profile, energy mode, binary off or version 2, a session starting in binary.
 * Built with -fsanitize=fuzzer,address,undefined; see firmware/README.md for the seeded command. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i;
    if (size == 0) {
        return 0;
    }
    fuzz_init(data[0]);
    for (i = 1; i < size; i++) {
        ee_feed(&g_ctx, data[i]);
    }
    ee_feed(&g_ctx, '%');
    fuzz_report();
    return 0;
}
