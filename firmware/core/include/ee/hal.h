/* Board HAL: everything the portable core needs from a board, passed as function pointers
 * so the same core links into firmware, native unit tests and fuzzers without weak symbols. */
#ifndef EE_HAL_H
#define EE_HAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ee_hal {
    /* Blocking UART transmit of len bytes. Required. */
    void (*write)(void *user, const uint8_t *data, size_t len);
    /* Free-running microsecond counter, wrapping at 2^32 (printed as m-lap-us). Required. */
    uint32_t (*micros)(void *user);
    /* Energy mode: a falling edge on the timestamp GPIO held low >= 1 us. NULL if no pin. */
    void (*timestamp_pin)(void *user);
    /* Called right before the timed loop reads t0 (e.g. to align a timer's phase so
     * emulated timings repeat exactly). NULL if not needed. */
    void (*timing_begin)(void *user);
    /* apply=0: may the UART switch to baud? apply=1: switch now (the reply has left the wire).
     * Returns 0 when supported/done, -1 otherwise. NULL: rate changes unsupported. */
    int (*set_baud)(void *user, uint32_t baud, int apply);
    /* Optional activity LED. NULL if none. */
    void (*led)(void *user, int on);
    void *user;
} ee_hal;

#endif
