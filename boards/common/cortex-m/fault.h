/* Fault report shared by the Cortex-M ports: every fault exception (HardFault, MemManage,
 * BusFault, UsageFault, SecureFault) and any unexpected exception prints one line on the UART,
 *   e-[fault: exception 3 CFSR=00010000 HFSR=40000000 MMFAR=00000000 BFAR=00000000 PC=000004c8 LR=...]
 * and halts. The e- prefix makes a host stop waiting for the reply and show the line; the
 * registers and the stacked PC locate the fault without a debugger attached. */
#ifndef CORTEX_M_FAULT_H
#define CORTEX_M_FAULT_H

#include <stddef.h>
#include <stdint.h>

/* PORT: write len bytes by polling, with interrupts masked (the fault may have hit inside the
 * UART's own interrupt); return at once if the UART is not set up yet. */
void board_fault_write(const uint8_t *data, size_t len);

/* The handler every fault vector points to (the CMSIS names below are aliases of it). */
void cm_fault_handler(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void SecureFault_Handler(void);

/* Called by cm_fault_handler with the exception's stacked frame (r0-r3, r12, lr, pc, xpsr). */
void cm_fault_report(const uint32_t *frame);

#endif
