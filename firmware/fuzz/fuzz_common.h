/* Shared set-up of the libFuzzer targets: a core with a bounded test runner and a discarding UART.
 *
 * The first input byte chooses the build the core runs as (fuzz_mode), so one target covers every
 * profile, energy mode, binary off, version 2 offered, and a session that starts in binary mode.
 * With EE_FUZZ_REPORT=1 in the environment the target prints, once, the run in which the core first
 * answered a command successfully (an m- reply other than m-ready, or a binary reply frame): how fast
 * the fuzzer gets past the parser's error paths. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ee/core.h"

/* The largest MAX_DB_INPUT_SIZE of the profiles (vww01). */
#define FUZZ_BUFFER 27648u

static uint8_t g_buffer[FUZZ_BUFFER];
static uint32_t g_calls, g_now;
static float g_input_sum;
static ee_ctx g_ctx;
static int g_watch, g_valid, g_reported;
static unsigned long g_runs;

static void sink(void *user, const uint8_t *data, size_t len)
{
    /* Touch every byte so ASan sees any out-of-bounds reply. */
    volatile uint8_t x = 0;
    size_t i;
    (void)user;
    if (g_watch && len >= 2) {
        int ascii = data[0] == 'm' && data[1] == '-' && !(len >= 7 && !memcmp(data, "m-ready", 7));
        int frame = data[0] >= 2 && (data[1] & 0x80u) && data[1] != 0xFFu;
        g_valid |= ascii || frame;
    }
    for (i = 0; i < len; i++) {
        x ^= data[i];
    }
    (void)x;
}

static void pin(void *user)
{
    (void)user;
}

static uint32_t micros(void *user)
{
    (void)user;
    return g_now += 7u;
}

static int set_baud(void *user, uint32_t baud, int apply)
{
    (void)user;
    (void)apply;
    return baud >= 9600u ? 0 : -1;
}

static int load(void *ctx, const uint8_t *data, size_t len)
{
    size_t i;
    (void)ctx;
    g_input_sum = 0;
    for (i = 0; i < len; i++) {
        g_input_sum += (float)data[i];
    }
    return 0;
}

static ee_layers g_layers;

/* Fails after 64 calls per input, so a fuzzed `infer 4000000000` ends quickly. Each call times
 * (g_calls % 7) operators, some nested, so `layers` sees changing, sometimes over-full tables. */
static int infer(void *ctx)
{
    uint32_t op, ops = (g_calls % 7u) * (g_calls % 3u == 0 ? 40u : 1u);
    (void)ctx;
    for (op = 0; op < ops; op++) {
        ee_layers_begin(&g_layers, op % 2u ? "CONV_2D" : "op-with-dash");
        if (op % 5u == 0) {
            ee_layers_begin(&g_layers, "NESTED");
            ee_layers_end(&g_layers);
        }
        ee_layers_end(&g_layers);
    }
    return ++g_calls > 64u ? -1 : 0;
}

static size_t results(void *ctx, float *out, size_t cap)
{
    size_t i, n = cap < 12u ? cap : 12u;
    (void)ctx;
    for (i = 0; i < n; i++) {
        out[i] = g_input_sum / (float)(i + 1) / 100000.0f;
    }
    return n;
}

static const ee_hal g_hal = {sink, micros, pin, NULL, set_baud, NULL, NULL};
static ee_runner g_runner = {"fuzz", 1, 490u, load, infer, results, NULL, &g_layers, 4096u};

/* Mode byte: bits 0-1 profile (kws01, vww01, ic01, ad01), bit 2 energy build, bit 3 no binary
 * protocol, bit 4 version 2 offered (an RX ring), bits 5-6 start in a binary session (0 ASCII,
 * 1 version 1, 2 version 2 when offered). */
static void fuzz_init(uint8_t mode)
{
    static const char *const models[] = {"kws01", "vww01", "ic01", "ad01"};
    static const size_t sizes[] = {490u, 27648u, 3072u, 5120u};
    ee_config cfg;
    unsigned start = (mode >> 5) & 3u;
    memset(&cfg, 0, sizeof cfg);
    cfg.hal = &g_hal;
    cfg.runner = &g_runner;
    cfg.vendor = "fuzz";
    cfg.model = models[mode & 3u];
    g_runner.input_bytes = sizes[mode & 3u];
    cfg.buffer = g_buffer;
    cfg.buffer_size = sizes[mode & 3u];
    cfg.energy_mode = (mode >> 2) & 1u;
    cfg.binary = !((mode >> 3) & 1u);
    cfg.rx_backlog = ((mode >> 4) & 1u) ? 8192u : 0u;
    g_calls = 0;
    g_watch = 0;
    ee_init(&g_ctx, &cfg);
    if (cfg.binary && (start == 1 || (start == 2 && cfg.rx_backlog))) {
        ee_binary_enter(&g_ctx, (uint8_t)start);
        g_ctx.binary_mode = 1;
    }
    g_valid = 0;
    g_watch = 1; /* the boot banner is not an answer */
    g_runs++;
}

static void fuzz_report(void)
{
    if (g_valid && !g_reported && getenv("EE_FUZZ_REPORT")) {
        g_reported = 1;
        fprintf(stderr, "edgeperf-fuzz: first valid command in run %lu\n", g_runs);
    }
}

#endif
