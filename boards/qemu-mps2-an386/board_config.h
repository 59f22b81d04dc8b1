/* QEMU mps2-an386: Cortex-M4 (FPU) at 25 MHz, CMSDK UART0 at 0x40004000 (RX IRQ 0),
 * FPGAIO LEDs at 0x40028000 (checked with `info mtree -f` on QEMU 7.2). */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#define BOARD_NAME "qemu-mps2-an386"
#define BOARD_CORE_HZ 25000000u
#define BOARD_PCLK_HZ 25000000u
#define BOARD_UART_BASE 0x40004000u
#define BOARD_FPGAIO_LED 0x40028000u
/* Decoded by nothing, so a load there is a precise BusFault (the fault-test build uses it;
 * QEMU 7.2 reads some other gaps of this machine as zero). */
#define BOARD_UNMAPPED_ADDRESS 0xd0000000u

#endif
