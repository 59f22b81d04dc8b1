/* DUT side of the edgeperf binary protocol (protocols/binary/README.md). */
#ifndef EE_BINARY_H
#define EE_BINARY_H

#include <stddef.h>
#include <stdint.h>

#include "ee/frame.h"

#define EE_BIN_VERSION 1u
/* Version 2 (streamed): HELLO names the RX backlog, INFER replies carry the CRC-32 of their input, so a
 * host may send the next input while the board infers. Offered when the board's UART keeps receiving
 * during an inference (ee_config.rx_backlog > 0). */
#define EE_BIN_STREAM_VERSION 2u
/* Largest DATA chunk a host may send (advertised in HELLO). */
#define EE_BIN_MAX_CHUNK 4096u
/* Largest decoded body: type, seq, DATA offset, chunk, crc. */
#define EE_BIN_MAX_BODY (2u + 4u + EE_BIN_MAX_CHUNK + 4u)
#define EE_BIN_RX_CAP EE_FRAME_WIRE_MAX(EE_BIN_MAX_CHUNK + 4u)
#define EE_BIN_REPLY_CAP 200u

enum {
    EE_MSG_HELLO = 0x01, EE_MSG_LOAD = 0x02, EE_MSG_DATA = 0x03, EE_MSG_INFER = 0x04,
    EE_MSG_BAUD = 0x05, EE_MSG_EXIT = 0x06,
    EE_MSG_REPLY = 0x80,   /* reply type = request type | 0x80 */
    EE_MSG_ERROR = 0xFF
};

enum {
    EE_BIN_OK = 0, EE_BIN_DONE = 1,
    EE_ERR_CRC = 1, EE_ERR_LENGTH = 2, EE_ERR_TYPE = 3, EE_ERR_TOO_BIG = 4, EE_ERR_OFFSET = 5,
    EE_ERR_NOT_LOADED = 6, EE_ERR_ARG = 7, EE_ERR_BAUD = 8, EE_ERR_FRAMING = 9
};

typedef struct ee_binary {
    uint8_t rx[EE_BIN_RX_CAP];
    size_t rx_len;
    int rx_overflow;
    int have_last;
    uint8_t last_type;
    uint8_t last_seq;
    uint8_t reply[EE_BIN_REPLY_CAP];   /* last reply frame, resent on a retransmitted request */
    size_t reply_len;
    int leave;
    uint8_t version;                   /* the version this session was opened with (binary N%) */
} ee_binary;

struct ee_ctx;
void ee_binary_enter(struct ee_ctx *ctx, uint8_t version);
/* Feed one wire byte; returns 1 when the protocol asked to go back to ASCII. */
int ee_binary_feed(struct ee_ctx *ctx, uint8_t byte);
/* Handle one decoded body (type, seq, payload, crc checked inside); used by the fuzzer too. */
void ee_binary_frame(struct ee_ctx *ctx, uint8_t *body, size_t len);

#endif
