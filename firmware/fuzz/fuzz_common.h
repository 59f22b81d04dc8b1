/* Shared set-up of the libFuzzer targets: a core with a bounded test runner and a discarding UART. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <string.h>

#include "ee/core.h"

#define FUZZ_BUFFER 490u

static uint8_t g_buffer[FUZZ_BUFFER];
static uint32_t g_calls, g_now;
static float g_input_sum;
static ee_ctx g_ctx;

static void sink(void *user, const uint8_t *data, size_t len)
{
    /* Touch every byte so ASan sees any out-of-bounds reply. */
    volatile uint8_t x = 0;
    (void)user;
    while (len--) {
        x ^= *data++;
    }
    (void)x;
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

/* Fails after 64 calls per input, so a fuzzed `infer 4000000000` ends quickly. */
static int infer(void *ctx)
{
    (void)ctx;
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

static const ee_hal g_hal = {sink, micros, NULL, NULL, set_baud, NULL, NULL};
static const ee_runner g_runner = {"fuzz", 1, FUZZ_BUFFER, load, infer, results, NULL};

static void fuzz_init(void)
{
    ee_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.hal = &g_hal;
    cfg.runner = &g_runner;
    cfg.vendor = "fuzz";
    cfg.model = "kws01";
    cfg.buffer = g_buffer;
    cfg.buffer_size = sizeof g_buffer;
    cfg.binary = 1;
    g_calls = 0;
    ee_init(&g_ctx, &cfg);
}

#endif
