/* Heap-free formatting: replies are built into fixed buffers, so no printf or malloc is linked. */
#include "ee/fmt.h"

void ee_buf_init(ee_buf *b, char *data, size_t cap)
{
    b->data = data;
    b->cap = cap;
    b->len = 0;
    b->overflow = 0;
    if (cap) {
        data[0] = '\0';
    }
}

void ee_buf_char(ee_buf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
    } else {
        b->overflow = 1;
    }
}

void ee_buf_str(ee_buf *b, const char *s)
{
    while (*s) {
        ee_buf_char(b, *s++);
    }
}

void ee_buf_u32(ee_buf *b, uint32_t v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n) {
        ee_buf_char(b, digits[--n]);
    }
}

void ee_buf_hex2(ee_buf *b, uint8_t v)
{
    static const char hex[] = "0123456789abcdef";
    ee_buf_char(b, hex[v >> 4]);
    ee_buf_char(b, hex[v & 15u]);
}

static void put3(ee_buf *b, uint32_t frac)
{
    ee_buf_char(b, (char)('0' + frac / 100u));
    ee_buf_char(b, (char)('0' + frac / 10u % 10u));
    ee_buf_char(b, (char)('0' + frac % 10u));
}

void ee_buf_f3(ee_buf *b, float v)
{
    double d = (double)v;
    uint64_t scaled;
    if (d != d) {
        ee_buf_str(b, "nan");
        return;
    }
    if (d < 0) {
        ee_buf_char(b, '-');
        d = -d;
    }
    if (d >= 4.0e9) {
        ee_buf_str(b, "inf");
        return;
    }
    scaled = (uint64_t)(d * 1000.0 + 0.5);
    ee_buf_u32(b, (uint32_t)(scaled / 1000u));
    ee_buf_char(b, '.');
    put3(b, (uint32_t)(scaled % 1000u));
}

void ee_buf_trunc3(ee_buf *b, float v)
{
    uint32_t frac = 0;
    if (v > 0.0f && v < 4.0e6f) {
        frac = (uint32_t)(v * 1000.0f) % 1000u;
    }
    ee_buf_str(b, "0.");
    put3(b, frac);
}

long ee_atol(const char *s)
{
    long sign = 1, value = 0;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    while (*s >= '0' && *s <= '9') {
        if (value < 100000000L) {
            value = value * 10 + (*s - '0');
        } else {
            value = 1000000000L; /* saturate: no signed overflow on hostile input */
        }
        s++;
    }
    return sign * value;
}
