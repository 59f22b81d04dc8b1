/* libFuzzer target: arbitrary bytes into the ASCII command parser (and, after a fuzzed
 * `binary 1%`, into the deframer too). Built with -fsanitize=fuzzer,address,undefined. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i;
    fuzz_init();
    for (i = 0; i < size; i++) {
        ee_feed(&g_ctx, data[i]);
    }
    ee_feed(&g_ctx, '%');
    return 0;
}
