/* CMSDK APB UART (MPS2/MPS3 FPGA images and their QEMU models): RX by interrupt into a ring,
 * TX by polling. Waiting in WFI for the RX interrupt keeps an emulated board at 0 % host CPU
 * when idle and gives sub-millisecond round trips (polling the status register does not). */
#ifndef CMSDK_UART_H
#define CMSDK_UART_H

#include <stdint.h>

typedef struct {
    volatile uint32_t data;
    volatile uint32_t state;    /* bit0 TX full, bit1 RX full */
    volatile uint32_t ctrl;     /* bit0 TX en, bit1 RX en, bit3 RX interrupt en */
    volatile uint32_t intstatus; /* write 1 to clear: bit0 TX, bit1 RX */
    volatile uint32_t bauddiv;
} cmsdk_uart;

/* Bytes the RX ring holds while the core is busy (power of two; a whole binary DATA frame fits). */
#define CMSDK_UART_RX_RING 8192u

void cmsdk_uart_init(cmsdk_uart *uart, uint32_t pclk_hz, uint32_t baud, unsigned rx_irq);
void cmsdk_uart_write(cmsdk_uart *uart, const uint8_t *data, uint32_t len);
int cmsdk_uart_set_baud(cmsdk_uart *uart, uint32_t pclk_hz, uint32_t baud, int apply);
/* Call from the board's RX interrupt handler. */
void cmsdk_uart_rx_isr(cmsdk_uart *uart);
/* Next received byte; sleeps (WFI) until one arrives. */
uint8_t cmsdk_uart_getc(void);

#endif
