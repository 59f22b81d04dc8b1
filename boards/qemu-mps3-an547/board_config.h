/* QEMU mps3-an547: Cortex-M55 at 32 MHz, running Secure; CMSDK UART0 at 0x59303000 (Secure
 * alias, RX IRQ 33), FPGAIO LEDs at 0x59302000. SysTick has no reference clock: core clock only. */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#define BOARD_NAME "qemu-mps3-an547"
#define BOARD_CORE_HZ 32000000u
#define BOARD_PCLK_HZ 25000000u
#define BOARD_UART_BASE 0x59303000u
#define BOARD_FPGAIO_LED 0x59302000u
/* Decoded by nothing, so a load there is a precise BusFault (the fault-test build uses it;
 * QEMU 7.2 reads some other gaps of this machine as zero). */
#define BOARD_UNMAPPED_ADDRESS 0x0c000000u

#endif
