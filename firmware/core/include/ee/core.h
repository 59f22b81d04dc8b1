/* The EEMBC / MLPerf Tiny DUT protocol core, plus the switch to the edgeperf binary protocol.
 *
 * Portable C99, no heap: all state lives in an ee_ctx the board owns. Bytes go in through
 * ee_feed(); replies go out through hal->write. Same commands and strings as the reference
 * firmware, except that over-long, empty and over-sized requests are rejected with e- lines
 * instead of corrupting memory. */
#ifndef EE_CORE_H
#define EE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "ee/binary.h"
#include "ee/hal.h"
#include "ee/runner.h"

#define EE_CMD_SIZE 80u
#define EE_FW_VERSION "ULPMark for tinyML Firmware V0.0.1"

typedef enum { EE_PROFILE_KWS01, EE_PROFILE_VWW01, EE_PROFILE_IC01, EE_PROFILE_AD01, EE_PROFILE_OTHER } ee_profile;

typedef struct ee_config {
    const ee_hal *hal;
    const ee_runner *runner;
    const char *vendor;     /* m-name-dut-[vendor] */
    const char *model;      /* m-model-[model], e.g. "kws01" */
    uint8_t *buffer;        /* db buffer owned by the board */
    size_t buffer_size;     /* MAX_DB_INPUT_SIZE */
    int energy_mode;        /* 1: timestamps are pin edges, no m-lap-us lines */
    int binary;             /* 1: advertise and accept the edgeperf binary protocol */
    size_t rx_backlog;      /* bytes the UART keeps receiving while the core infers (DMA or IRQ ring);
                               > 0 offers binary version 2 (the next input streams in meanwhile) */
    const char *board_ext;  /* extra m-ext-[...] fact of the board (e.g. "timing=emulated-icount"), or NULL */
} ee_config;

typedef struct ee_ctx {
    ee_config cfg;
    ee_profile profile;
    char cmd[EE_CMD_SIZE + 1];
    size_t cmd_len;
    int cmd_overflow;
    int enabled;
    size_t buff_size;
    size_t buff_pos;
    float results[EE_MAX_RESULTS];
    size_t result_count;
    int binary_mode;
    ee_binary bin;
} ee_ctx;

/* ee_benchmark_initialize: print the boot banner and enable the parser. */
void ee_init(ee_ctx *ctx, const ee_config *cfg);
/* ee_serial_callback: one received byte (ASCII command or binary frame byte). */
void ee_feed(ee_ctx *ctx, uint8_t byte);
/* Execute one complete ASCII command (no terminator); used by ee_feed and the fuzzers. */
void ee_command(ee_ctx *ctx, char *command);

/* Helpers shared by the ASCII and binary front ends. */
void ee_write(ee_ctx *ctx, const char *text);
/* Load the db buffer into the runner; 0 on success, else prints nothing and returns -1. */
int ee_load_input(ee_ctx *ctx);
/* Run warmups, then time iterations with the board's microsecond counter. */
int ee_run_timed(ee_ctx *ctx, uint32_t iterations, uint32_t warmups, uint32_t *t0, uint32_t *t1);

#endif
