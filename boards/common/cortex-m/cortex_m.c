/* NVIC and the SysTick microsecond clock (see cortex_m.h). DWT CYCCNT is not modelled by QEMU,
 * so SysTick is the portable choice on emulated and real Cortex-M parts alike. */
#include "cortex_m.h"

#define NVIC_ISER ((volatile uint32_t *)0xE000E100u)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)
#define ICSR_PENDSTCLR (1u << 25)

static uint32_t g_ticks_per_us;
static uint32_t g_period;          /* ticks per SysTick period */
static volatile uint64_t g_base;   /* ticks before the current run of periods */
static volatile uint32_t g_wraps;

void cm_nvic_enable(unsigned irq)
{
    NVIC_ISER[irq / 32u] = 1u << (irq % 32u);
}

void SysTick_Handler(void)
{
    g_wraps++;
}

static void start(void)
{
    SYST_CSR = 0;
    SYST_RVR = g_period - 1u;
    SYST_CVR = 0;
    SCB_ICSR = ICSR_PENDSTCLR;
    g_wraps = 0;
    SYST_CSR = 7u; /* enable, interrupt, core clock */
    while (SYST_CVR == 0u) {
        /* one tick until the first reload: afterwards every port reads the same state */
    }
}

void cm_clock_init(uint32_t core_hz)
{
    g_ticks_per_us = core_hz / 1000000u;
    g_period = core_hz / 1000u;
    g_base = 0;
    start();
}

static uint64_t ticks_locked(void)
{
    uint32_t value = SYST_CVR, wraps = g_wraps;
    if (SCB_ICSR & ICSR_PENDSTSET) {
        /* Wrapped since the interrupt was masked: count it and re-read the fresh value. */
        value = SYST_CVR;
        wraps++;
    }
    return g_base + (uint64_t)wraps * g_period + (g_period - 1u - value);
}

uint32_t cm_clock_micros(void)
{
    uint64_t ticks;
    cm_irq_disable();
    ticks = ticks_locked();
    cm_irq_enable();
    return (uint32_t)(ticks / g_ticks_per_us);
}

void cm_clock_align(void)
{
    uint64_t ticks;
    cm_irq_disable();
    ticks = ticks_locked();
    g_base = (ticks / g_ticks_per_us + 1u) * g_ticks_per_us;
    start();
    cm_irq_enable();
}
