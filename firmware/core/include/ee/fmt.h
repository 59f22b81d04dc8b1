/* Minimal, heap-free text formatting for replies (no printf dependency on small boards). */
#ifndef EE_FMT_H
#define EE_FMT_H

#include <stddef.h>
#include <stdint.h>

/* A bounded output buffer; writes past cap are dropped and flagged, never overflow. */
typedef struct ee_buf {
    char *data;
    size_t cap;
    size_t len;
    int overflow;
} ee_buf;

void ee_buf_init(ee_buf *b, char *data, size_t cap);
void ee_buf_str(ee_buf *b, const char *s);
void ee_buf_char(ee_buf *b, char c);
void ee_buf_u32(ee_buf *b, uint32_t v);
void ee_buf_hex2(ee_buf *b, uint8_t v);
/* Eight lower-case hex digits, for register dumps. */
void ee_buf_hex32(ee_buf *b, uint32_t v);
/* printf("%0.3f", v) for every float: the exact binary value rounded to thousandths, ties to
 * even; inf and -inf as printf prints them, a NaN as "nan". */
void ee_buf_f3(ee_buf *b, float v);
/* 0.%d%d%d as the kws reference prints it: (int)(v*10), (int)(v*100)%10, (int)(v*1000)%10. */
void ee_buf_trunc3(ee_buf *b, float v);

/* C atoi semantics (sign, digits, stops at the first non-digit; saturates instead of overflowing). */
long ee_atol(const char *s);

#endif
