/* libFuzzer target: the binary deframer and message handlers. Byte 0 selects the path:
 * even = raw wire bytes through COBS and CRC checks; odd = the rest is a frame body that gets
 * a correct CRC appended, so the fuzzer reaches every message handler past the CRC check.
 * Its other bits choose the build as in fuzz_common.h (bits 1-2 profile, bit 3 energy mode,
 * bit 4 a version 2 session). */
#include "ee/frame.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t body[EE_BIN_MAX_BODY + 16];
    size_t i;
    if (size == 0) {
        return 0;
    }
    /* Profile and energy bits as fuzz_mode's; a session of version 1 or 2 (with its RX ring). */
    fuzz_init((uint8_t)(((data[0] >> 1) & 7u) | (((data[0] >> 4) & 1u) ? 0x50u : 0x20u)));
    if (data[0] % 2u == 0) {
        for (i = 1; i < size; i++) {
            ee_feed(&g_ctx, data[i]);
        }
        ee_feed(&g_ctx, 0);
    } else if (size - 1 + 4 <= sizeof body) {
        uint32_t crc;
        size_t n = size - 1;
        memcpy(body, data + 1, n);
        crc = ee_crc32(0, body, n);
        for (i = 0; i < 4; i++) {
            body[n + i] = (uint8_t)(crc >> (8 * i));
        }
        ee_binary_frame(&g_ctx, body, n + 4);
        /* The same frame again: the retransmission path. */
        ee_binary_frame(&g_ctx, body, n + 4);
    }
    fuzz_report();
    return 0;
}
