/* Native host build of the firmware: the protocol core on stdin/stdout, for unit tests,
 * transcript replays and fuzzing. The clock is the host's monotonic clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ee/core.h"
#include "synthetic.h"

#ifdef EE_WITH_TFLM
#include "tflm_runner.h"
extern const uint8_t ee_model_data[];
static uint8_t g_arena[EE_ARENA_BYTES] __attribute__((aligned(16)));
#endif

static uint8_t g_buffer[EE_SYNTHETIC_MAX_INPUT];
#ifndef EE_WITH_TFLM
static ee_synthetic g_synthetic;
#endif
static ee_ctx g_ctx;

static void out_write(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    while (len) {
        ssize_t n = write(1, data, len);
        if (n <= 0) {
            exit(0); /* the host went away */
        }
        data += n;
        len -= (size_t)n;
    }
}

static uint32_t host_micros(void *user)
{
    struct timespec ts;
    (void)user;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

static int stdio_baud(void *user, uint32_t baud, int apply)
{
    /* A pipe has no rate; accept the usual UART rates so the protocol path is exercised. */
    (void)user;
    (void)apply;
    return (baud >= 9600u && baud <= 4000000u) ? 0 : -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: ee_native [--model kws01|vww01|ic01|ic02|ad01] [--vendor NAME] [--energy] "
                    "[--no-binary] [--macs N] [--max-input N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    ee_hal hal = {out_write, host_micros, NULL, NULL, stdio_baud, NULL, NULL};
    ee_runner runner;
    ee_config cfg;
    const char *model = "kws01";
    unsigned long macs = 20000, max_input = 0;
    int i, energy = 0, binary = 1;
    uint8_t chunk[4096];
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(argv[i], "--vendor") && i + 1 < argc) {
            i++;
        } else if (!strcmp(argv[i], "--energy")) {
            energy = 1;
        } else if (!strcmp(argv[i], "--no-binary")) {
            binary = 0;
        } else if (!strcmp(argv[i], "--macs") && i + 1 < argc) {
            macs = strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--max-input") && i + 1 < argc) {
            max_input = strtoul(argv[++i], NULL, 10);
        } else {
            usage();
        }
    }
#ifdef EE_WITH_TFLM
    (void)macs;
    if (ee_tflm_init(&runner, ee_model_data, model, g_arena, sizeof g_arena) != 0) {
        fprintf(stderr, "ee_native_tflm: the embedded model does not run as %s (or the arena is too small)\n", model);
        return 2;
    }
#else
    if (ee_synthetic_init(&g_synthetic, &runner, model, (uint32_t)macs) != 0) {
        fprintf(stderr, "ee_native: unknown model %s\n", model);
        return 2;
    }
#endif
    memset(&cfg, 0, sizeof cfg);
    cfg.hal = &hal;
    cfg.runner = &runner;
    cfg.vendor = "unspecified";
    for (i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--vendor")) {
            cfg.vendor = argv[i + 1];
        }
    }
    cfg.model = model;
    cfg.buffer = g_buffer;
    /* MAX_DB_INPUT_SIZE of the reference ports unless overridden (ad01's holds two windows). */
    cfg.buffer_size = max_input ? max_input : (!strcmp(model, "ad01") ? 5120u : runner.input_bytes);
    if (cfg.buffer_size > sizeof g_buffer) {
        cfg.buffer_size = sizeof g_buffer;
    }
    cfg.energy_mode = energy;
    cfg.binary = binary;
    /* The pipe keeps what the host sends while an inference runs, as a UART RX ring would. */
    cfg.rx_backlog = 65536u;
    ee_init(&g_ctx, &cfg);
    for (;;) {
        ssize_t n = read(0, chunk, sizeof chunk), k;
        if (n <= 0) {
            return 0;
        }
        for (k = 0; k < n; k++) {
            ee_feed(&g_ctx, chunk[k]);
        }
    }
}
