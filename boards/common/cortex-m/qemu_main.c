/* main() of the QEMU MPS2/MPS3 ports: synthetic runner (a harness self-test: these emulators
 * run no model runtime), CMSDK UART, SysTick clock. The board header gives addresses and clocks. */
#include <stdint.h>

#include "board_config.h"
#include "cmsdk_uart.h"
#include "cortex_m.h"
#include "ee/core.h"
#include "fault.h"
#include "synthetic.h"

#ifdef EE_WITH_TFLM
#include "tflm_runner.h"
extern const uint8_t ee_model_data[];
static uint8_t g_arena[EE_ARENA_BYTES] __attribute__((aligned(16)));
#define RUNNER_LABEL " tflite-micro"
#else
#define RUNNER_LABEL " synthetic self-test, not a model result"
#endif

#ifndef EE_MODEL
#define EE_MODEL "kws01"
#endif
#ifndef EE_SYNTHETIC_MACS
#define EE_SYNTHETIC_MACS 150000u
#endif

#define UART ((cmsdk_uart *)BOARD_UART_BASE)

static uint8_t g_buffer[EE_SYNTHETIC_MAX_INPUT];
#ifndef EE_WITH_TFLM
static ee_synthetic g_synthetic;
#endif
static ee_runner g_runner;
static ee_ctx g_ctx;

static void hal_write(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    cmsdk_uart_write(UART, data, (uint32_t)len);
}

static uint32_t hal_micros(void *user)
{
    (void)user;
    return cm_clock_micros();
}

static void hal_timing_begin(void *user)
{
    (void)user;
    cm_clock_align();
}

static int hal_set_baud(void *user, uint32_t baud, int apply)
{
    (void)user;
    return cmsdk_uart_set_baud(UART, BOARD_PCLK_HZ, baud, apply);
}

static void hal_led(void *user, int on)
{
    /* FPGAIO LED0: observable with -trace mps2_fpgaio_write as an emulated timestamp pin. */
    (void)user;
    *(volatile uint32_t *)BOARD_FPGAIO_LED = on ? 1u : 0u;
}

void board_fault_write(const uint8_t *data, size_t len)
{
    /* TX is polled already, and the UART is enabled before anything that can fault runs. */
    cmsdk_uart_write(UART, data, (uint32_t)len);
}

#ifdef EE_FAULT_TEST
/* Fault-test builds only (EE_FAULT_TEST=ON): an inference whose input starts with 0xfa runs an
 * undefined instruction, 0xfb loads from BOARD_UNMAPPED_ADDRESS, which no device decodes, so a test can check the
 * fault report for both a UsageFault and a precise BusFault. Other inputs infer normally. */
__attribute__((naked, noinline)) void fault_test_undefined(void)
{
    __asm volatile("udf #0");
}

static int (*g_infer)(void *ctx);

static int fault_test_infer(void *ctx)
{
    if (g_buffer[0] == 0xfau) {
        fault_test_undefined();
    } else if (g_buffer[0] == 0xfbu) {
        return (int)*(volatile uint32_t *)BOARD_UNMAPPED_ADDRESS;
    }
    return g_infer(ctx);
}
#endif

static const ee_hal g_hal = {hal_write, hal_micros, NULL, hal_timing_begin, hal_set_baud, hal_led, NULL};

void Board_UART_RX_Handler(void)
{
    cmsdk_uart_rx_isr(UART);
}

int main(void)
{
    ee_config cfg;
    cm_clock_init(BOARD_CORE_HZ);
    cmsdk_uart_init(UART, BOARD_PCLK_HZ, 115200u, BOARD_UART_RX_IRQ);
    cm_irq_enable();
#ifdef EE_WITH_TFLM
    if (ee_tflm_init(&g_runner, ee_model_data, EE_MODEL, g_arena, sizeof g_arena) != 0) {
        static const char msg[] = "e-[TFLite Micro init failed: model, profile or arena size]\r\n";
        hal_write(NULL, (const uint8_t *)msg, sizeof msg - 1);
        for (;;) {
            cm_wfi();
        }
    }
#else
    ee_synthetic_init(&g_synthetic, &g_runner, EE_MODEL, EE_SYNTHETIC_MACS);
#endif
#ifdef EE_FAULT_TEST
    g_infer = g_runner.infer;
    g_runner.infer = fault_test_infer;
#endif
    cfg.hal = &g_hal;
    cfg.runner = &g_runner;
    cfg.vendor = "edgeperf " BOARD_NAME RUNNER_LABEL;
    cfg.model = EE_MODEL;
    cfg.buffer = g_buffer;
    cfg.buffer_size = g_runner.input_bytes;
    cfg.energy_mode = 0;
    cfg.binary = 1;
    /* The RX interrupt keeps filling the ring during an inference: binary version 2 may stream into it. */
    cfg.rx_backlog = CMSDK_UART_RX_RING;
    /* Device time here counts instructions (QEMU -icount): every host must say so next to a latency. */
    cfg.board_ext = "timing=emulated-icount";
    ee_init(&g_ctx, &cfg);
    for (;;) {
        ee_feed(&g_ctx, cmsdk_uart_getc());
    }
}
