/* CMSDK UART driver shared by the MPS2/MPS3 boards (see cmsdk_uart.h). */
#include "cmsdk_uart.h"

#include "cortex_m.h"

#define RING_SIZE CMSDK_UART_RX_RING

static volatile uint8_t g_ring[RING_SIZE];
static volatile uint32_t g_head, g_tail;

void cmsdk_uart_init(cmsdk_uart *uart, uint32_t pclk_hz, uint32_t baud, unsigned rx_irq)
{
    uart->bauddiv = pclk_hz / baud;
    uart->ctrl = 1u | 2u | 8u;
    cm_nvic_enable(rx_irq);
}

int cmsdk_uart_set_baud(cmsdk_uart *uart, uint32_t pclk_hz, uint32_t baud, int apply)
{
    if (baud == 0 || pclk_hz / baud < 16u) {
        return -1; /* the CMSDK UART needs a divider of at least 16 */
    }
    if (apply) {
        while (uart->state & 1u) {
        }
        uart->bauddiv = pclk_hz / baud;
    }
    return 0;
}

void cmsdk_uart_write(cmsdk_uart *uart, const uint8_t *data, uint32_t len)
{
    while (len--) {
        while (uart->state & 1u) {
        }
        uart->data = *data++;
    }
}

void cmsdk_uart_rx_isr(cmsdk_uart *uart)
{
    /* Clear first, then drain: a byte landing after the drain raises the interrupt again
     * instead of sitting unseen in DATA with its interrupt already cleared. */
    uart->intstatus = 2u;
    while (uart->state & 2u) {
        uint8_t c = (uint8_t)uart->data;
        if (g_head - g_tail < RING_SIZE) {
            g_ring[g_head % RING_SIZE] = c;
            g_head++;
        }
    }
}

uint8_t cmsdk_uart_getc(void)
{
    uint8_t c;
    for (;;) {
        cm_irq_disable();
        if (g_head != g_tail) {
            break;
        }
        /* WFI wakes on a pending interrupt even with PRIMASK set; the ISR runs after cm_irq_enable. */
        cm_wfi();
        cm_irq_enable();
    }
    c = g_ring[g_tail % RING_SIZE];
    g_tail++;
    cm_irq_enable();
    return c;
}
