/* Fault report for every Cortex-M port (see fault.h). The system control block's fault status
 * and address registers sit at the same addresses on v7-M (Cortex-M4) and v8-M (Cortex-M55),
 * and QEMU's MPS2/MPS3 machines model them, so the QEMU ports test this very code. */
#include "fault.h"

#include "ee/fmt.h"

#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)  /* MemManage, BusFault, UsageFault status */
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)  /* HardFault status: FORCED = escalated */
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u) /* valid when CFSR.MMARVALID */
#define SCB_BFAR (*(volatile uint32_t *)0xE000ED38u)  /* valid when CFSR.BFARVALID */
/* Stacking or unstacking failed (e.g. a stack overflow): the frame holds no valid PC. */
#define CFSR_STACK_ERRORS ((1u << 3) | (1u << 4) | (1u << 11) | (1u << 12))

/* EXC_RETURN bit 2 says which stack the exception frame went to: the C part needs the frame,
 * and only assembly can read the stack pointer before the compiler's prologue moves it. */
__attribute__((naked)) void cm_fault_handler(void)
{
    __asm volatile("tst lr, #4\n\t"
                   "ite eq\n\t"
                   "mrseq r0, msp\n\t"
                   "mrsne r0, psp\n\t"
                   "b cm_fault_report\n\t");
}

void HardFault_Handler(void) __attribute__((alias("cm_fault_handler")));
void MemManage_Handler(void) __attribute__((alias("cm_fault_handler")));
void BusFault_Handler(void) __attribute__((alias("cm_fault_handler")));
void UsageFault_Handler(void) __attribute__((alias("cm_fault_handler")));
void SecureFault_Handler(void) __attribute__((alias("cm_fault_handler")));

static void field(ee_buf *b, const char *name, uint32_t value)
{
    ee_buf_char(b, ' ');
    ee_buf_str(b, name);
    ee_buf_char(b, '=');
    ee_buf_hex32(b, value);
}

static uint32_t active_exception(void)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    return ipsr & 0x1ffu;
}

void cm_fault_report(const uint32_t *frame)
{
    char text[160];
    ee_buf b;
    uint32_t cfsr = SCB_CFSR;
    __asm volatile("cpsid i" ::: "memory");
    ee_buf_init(&b, text, sizeof text);
    ee_buf_str(&b, "\r\ne-[fault: exception ");
    ee_buf_u32(&b, active_exception());
    field(&b, "CFSR", cfsr);
    field(&b, "HFSR", SCB_HFSR);
    field(&b, "MMFAR", SCB_MMFAR);
    field(&b, "BFAR", SCB_BFAR);
    if (cfsr & CFSR_STACK_ERRORS) {
        ee_buf_str(&b, " PC=unknown (stacking failed)");
    } else {
        field(&b, "PC", frame[6]);
        field(&b, "LR", frame[5]);
    }
    ee_buf_str(&b, "]\r\n");
    board_fault_write((const uint8_t *)text, b.len);
    /* Halted, not reset: the report stays the last line and a debugger finds the state intact.
     * Masked interrupts can still end a WFI, hence the loop. */
    for (;;) {
        __asm volatile("wfi");
    }
}
