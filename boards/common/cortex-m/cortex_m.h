/* Core peripherals shared by every Cortex-M port: NVIC, SysTick microsecond clock, PRIMASK. */
#ifndef CORTEX_M_H
#define CORTEX_M_H

#include <stdint.h>

static inline void cm_irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void cm_irq_enable(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void cm_wfi(void) { __asm volatile("dsb\n\twfi" ::: "memory"); }

void cm_nvic_enable(unsigned irq);

/* SysTick on the core clock, 1 ms period, wraps counted in its interrupt. */
void cm_clock_init(uint32_t core_hz);
/* Microseconds since boot, modulo 2^32. Race-free against the wrap interrupt. */
uint32_t cm_clock_micros(void);
/* Restart SysTick so its interrupts fall at the same offsets in every timed window; the clock
 * skips forward to the next whole microsecond, never backwards. Makes -icount timings repeat. */
void cm_clock_align(void);

#endif
