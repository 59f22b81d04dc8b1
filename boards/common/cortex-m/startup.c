/* Vector table and reset handler for the bare-metal Cortex-M ports (no vendor SDK needed):
 * FPU on, .data copied, .bss cleared, C++ static constructors run, then main().
 * The FPU is enabled before any memory loop: GCC 12 vectorises the .data/.bss loops with
 * FP/MVE instructions at -O2/-O3, which fault (NOCP) while CP10/CP11 are off. */
#include <stdint.h>

#include "fault.h"

extern uint32_t __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__, __StackTop;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);
extern int main(void);

void Reset_Handler(void);
void SysTick_Handler(void);
void Board_UART_RX_Handler(void);

#ifndef BOARD_UART_RX_IRQ
#error "the board must define BOARD_UART_RX_IRQ"
#endif

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

void Reset_Handler(void)
{
    uint32_t *src, *dst;
    CPACR |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
    for (src = &__data_load__, dst = &__data_start__; dst < &__data_end__;) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0;
    }
    for (void (**ctor)(void) = __init_array_start; ctor < __init_array_end; ctor++) {
        (*ctor)();
    }
    main();
    for (;;) {
    }
}

typedef void (*vector)(void);

__attribute__((section(".vectors"), used)) static const vector g_vectors[16 + BOARD_UART_RX_IRQ + 1] = {
    [0] = (vector)&__StackTop,
    [1] = Reset_Handler,
    /* Faults, and exceptions nothing here raises, report on the UART and halt (fault.c). */
    [2] = cm_fault_handler,  /* NMI */
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [7] = SecureFault_Handler, /* v8-M; reserved on v7-M */
    [11] = cm_fault_handler, /* SVCall */
    [14] = cm_fault_handler, /* PendSV */
    [15] = SysTick_Handler,
    [16 + BOARD_UART_RX_IRQ] = Board_UART_RX_Handler,
};
