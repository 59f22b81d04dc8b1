/* Heap-free formatting: replies are built into fixed buffers, so no printf or malloc is linked. */
#include "ee/fmt.h"

#include <string.h>

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

void ee_buf_hex32(ee_buf *b, uint32_t v)
{
    int shift;
    for (shift = 24; shift >= 0; shift -= 8) {
        ee_buf_hex2(b, (uint8_t)(v >> shift));
    }
}

static void put3(ee_buf *b, uint32_t frac)
{
    ee_buf_char(b, (char)('0' + frac / 100u));
    ee_buf_char(b, (char)('0' + frac / 10u % 10u));
    ee_buf_char(b, (char)('0' + frac % 10u));
}

/* An unsigned integer of up to 128 bits (four little-endian 32-bit limbs) in decimal: a float's
 * integer part reaches 2^128, which no C99 integer type holds. */
static void put_wide(ee_buf *b, uint32_t limb[4])
{
    char digits[40];
    int n = 0, i, nonzero;
    do {
        uint32_t rem = 0;
        nonzero = 0;
        for (i = 3; i >= 0; i--) {
            uint64_t cur = ((uint64_t)rem << 32) | limb[i];
            limb[i] = (uint32_t)(cur / 10u);
            rem = (uint32_t)(cur % 10u);
            nonzero |= limb[i] != 0;
        }
        digits[n++] = (char)('0' + rem);
    } while (nonzero);
    while (n) {
        ee_buf_char(b, digits[--n]);
    }
}

/* mant * 2^exp (exp >= 0) in decimal, with the three zero decimals of %0.3f. */
static void put_integral(ee_buf *b, uint32_t mant, int exp)
{
    uint32_t limb[4] = {0, 0, 0, 0};
    uint64_t shifted = (uint64_t)mant << (exp % 32);
    limb[exp / 32] = (uint32_t)shifted;
    if (exp / 32 < 3) {
        limb[exp / 32 + 1] = (uint32_t)(shifted >> 32);
    }
    put_wide(b, limb);
    ee_buf_str(b, ".000");
}

/* mant * 2^-shift (shift > 0) rounded to thousandths. The product mant * 1000 < 2^34 is exact
 * in a uint64_t, so the rounding sees the float's exact binary value, as printf's does: the
 * nearest thousandth, and on an exact tie (an odd multiple of 1/16) the even one. */
static void put_fraction(ee_buf *b, uint32_t mant, int shift)
{
    uint64_t milli = 0;
    if (shift < 35) { /* from 2^35 on, mant * 1000 < 2^34 is below half a unit: 0.000 */
        uint64_t exact = (uint64_t)mant * 1000u;
        uint64_t rest = exact & ((1ull << shift) - 1u), half = 1ull << (shift - 1);
        milli = exact >> shift;
        if (rest > half || (rest == half && (milli & 1u))) {
            milli++;
        }
    }
    ee_buf_u32(b, (uint32_t)(milli / 1000u));
    ee_buf_char(b, '.');
    put3(b, (uint32_t)(milli % 1000u));
}

void ee_buf_f3(ee_buf *b, float v)
{
    uint32_t bits, mant;
    int biased;
    memcpy(&bits, &v, sizeof bits);
    biased = (int)(bits >> 23) & 0xff;
    mant = bits & 0x7fffffu;
    if (biased == 0xff && mant) {
        ee_buf_str(b, "nan"); /* newlib's printf, the reference's, prints no sign on a NaN */
        return;
    }
    if (bits >> 31) {
        ee_buf_char(b, '-'); /* -0.0 and negatives rounding to zero too, as printf does */
    }
    if (biased == 0xff) {
        ee_buf_str(b, "inf");
    } else if (biased == 0) {
        put_fraction(b, mant, 149); /* subnormal: mant * 2^-149 */
    } else if (biased >= 150) {
        put_integral(b, mant | 0x800000u, biased - 150);
    } else {
        put_fraction(b, mant | 0x800000u, 150 - biased);
    }
}

static void put_i32(ee_buf *b, int32_t v)
{
    if (v < 0) {
        ee_buf_char(b, '-');
    }
    ee_buf_u32(b, v < 0 ? 0u - (uint32_t)v : (uint32_t)v);
}

/* The kws reference's three float products, each truncated by a cast to int: v * 10 whole (so 1.0
 * prints 0.1000), then the last digit of v * 100 and of v * 1000 (C's remainder keeps the sign).
 * Outside +-2e6 the reference's casts overflow (undefined): we print 0.000 there. */
void ee_buf_trunc3(ee_buf *b, float v)
{
    int32_t tenths = 0, hundredths = 0, thousandths = 0;
    if (v > -2.0e6f && v < 2.0e6f) {
        tenths = (int32_t)(v * 10.0f);
        hundredths = (int32_t)(v * 100.0f) % 10;
        thousandths = (int32_t)(v * 1000.0f) % 10;
    }
    ee_buf_str(b, "0.");
    put_i32(b, tenths);
    put_i32(b, hundredths);
    put_i32(b, thousandths);
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
