/* edgeperf binary framing: COBS-encoded body [type u8][seq u8][payload][crc32 LE u32], then 0x00.
 * Specified in protocols/binary/README.md; the same vectors test the C, host and virtual-board code. */
#ifndef EE_FRAME_H
#define EE_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32/ISO-HDLC (zlib crc32), continued from a previous value (start with 0). */
uint32_t ee_crc32(uint32_t crc, const uint8_t *data, size_t len);

/* COBS-encode len bytes into out (no trailing 0x00); returns the encoded length, or 0 if cap is short. */
size_t ee_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* COBS-decode in place (decoded data never outgrows the encoding); returns the decoded length or
 * (size_t)-1 when the encoding is malformed (a zero byte or a code running past the end). */
size_t ee_cobs_decode(uint8_t *data, size_t len);

/* Largest payload ee_frame_build takes (device replies are small; DATA frames come from hosts). */
#define EE_FRAME_BUILD_MAX 600u

/* Build a whole wire frame (COBS + delimiter) for one message; returns its length or 0 if cap is short. */
size_t ee_frame_build(uint8_t type, uint8_t seq, const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

/* Worst-case wire size of a frame carrying a payload of len bytes. */
#define EE_FRAME_WIRE_MAX(len) ((len) + 6u + ((len) + 6u) / 254u + 2u)

#endif
