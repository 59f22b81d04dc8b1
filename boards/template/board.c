/* Board port template. Copy this directory to boards/<your-board>/, implement every function
 * marked PORT, adjust board.cmake, then delete the #error below. The core needs only these
 * hooks; see boards/nucleo-l4r5zi/main.c (STM32Cube HAL) and boards/common/cortex-m/ (bare
 * metal, QEMU) for complete ports. */
#error "board template: copy it to boards/<your-board>/ and implement the PORT functions first"

#include <string.h>

#include "ee/core.h"
#include "synthetic.h" /* or tflm_runner.h for a real model */

#define MODEL "kws01"          /* the m-model-[...] string: kws01, vww01, ic01, ic02 or ad01 */
#define MAX_INPUT 27648u        /* MAX_DB_INPUT_SIZE: at least the model's input bytes */

static uint8_t g_buffer[MAX_INPUT];
static ee_synthetic g_synthetic;
static ee_runner g_runner;
static ee_ctx g_ctx;

/* PORT: bring up clocks, the UART (115200 8N1 by default; 921600 for ad01 as in the reference),
 * its RX interrupt feeding a ring buffer, a free-running 1 MHz (or faster, scaled) counter, and
 * the timestamp GPIO (idle high) if the board will do energy runs. */
static void board_init(void);

/* PORT: next byte from the RX ring; sleep (WFI) while it is empty. */
static uint8_t board_getc(void);

/* PORT: blocking transmit; return once every byte is in the UART. */
static void hal_write(void *user, const uint8_t *data, size_t len);

/* PORT: microseconds since boot, wrapping at 2^32 (a 32-bit timer at 1 MHz is ideal). */
static uint32_t hal_micros(void *user);

/* PORT (energy mode only): drive the timestamp pin low for >= 1 us, then high again. */
static void hal_timestamp_pin(void *user);

/* PORT (optional): apply=0 asks whether `baud` is possible, apply=1 switches after TX drained. */
static int hal_set_baud(void *user, uint32_t baud, int apply);

static const ee_hal g_hal = {hal_write, hal_micros, hal_timestamp_pin, NULL, hal_set_baud, NULL, NULL};

int main(void)
{
    ee_config cfg;
    board_init();
    ee_synthetic_init(&g_synthetic, &g_runner, MODEL, 150000u); /* harness self-test runner */
    memset(&cfg, 0, sizeof cfg);
    cfg.hal = &g_hal;
    cfg.runner = &g_runner;
    cfg.vendor = "unspecified";  /* your organisation: printed as m-name-dut-[...] */
    cfg.model = MODEL;
    cfg.buffer = g_buffer;
    cfg.buffer_size = sizeof g_buffer;
    cfg.energy_mode = 0;         /* 1: energy build (pin edges instead of m-lap-us) */
    cfg.binary = 1;              /* advertise the edgeperf binary protocol */
    cfg.rx_backlog = 0;          /* bytes your UART's RX ring (DMA or interrupt) takes while the model runs;
                                    > 0 offers binary version 2: accuracy runs stream the next input meanwhile */
    ee_init(&g_ctx, &cfg);
    for (;;) {
        ee_feed(&g_ctx, board_getc());
    }
}
