/* Unit tests of the portable core, run natively (pytest builds and runs this binary).
 * Usage: ee_unit_tests [protocols/binary/vectors/frames.txt] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ee/core.h"
#include "ee/fmt.h"
#include "ee/frame.h"
#include "synthetic.h"

static int g_failures, g_checks;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        g_checks++;                                                          \
        if (!(cond)) {                                                       \
            g_failures++;                                                    \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

static char g_out[65536];
static size_t g_out_len;
static uint32_t g_now;

static void cap_write(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    if (g_out_len + len < sizeof g_out) {
        memcpy(g_out + g_out_len, data, len);
        g_out_len += len;
        g_out[g_out_len] = '\0';
    }
}

static uint32_t fake_micros(void *user)
{
    (void)user;
    return g_now += 1000u; /* each reading 1 ms later: deterministic laps */
}

static void test_fmt(void)
{
    char text[64];
    ee_buf b;
    ee_buf_init(&b, text, sizeof text);
    ee_buf_f3(&b, 0.5f);
    ee_buf_char(&b, ' ');
    ee_buf_f3(&b, 1.2345f);
    ee_buf_char(&b, ' ');
    ee_buf_trunc3(&b, 0.9969f);
    ee_buf_char(&b, ' ');
    ee_buf_u32(&b, 4294967295u);
    ee_buf_char(&b, ' ');
    ee_buf_f3(&b, -0.0004f);
    ee_buf_char(&b, ' ');
    ee_buf_hex32(&b, 0x0badf00du);
    CHECK(!strcmp(text, "0.500 1.235 0.996 4294967295 -0.000 0badf00d"), "got %s", text);
    ee_buf_init(&b, text, 4);
    ee_buf_str(&b, "abcdef");
    CHECK(b.overflow && !strcmp(text, "abc"), "bounded buffer got %s", text);
    CHECK(ee_atol("12x") == 12 && ee_atol("-3") == -3 && ee_atol("abc") == 0, "atol");
    CHECK(ee_atol("99999999999999999999") == 1000000000L, "atol saturates");
}

/* ee_buf_f3 against the host C library's printf("%0.3f"), which rounds the exact binary value
 * ties-to-even: returns 1 when they agree, else prints the first few differences and returns 0.
 * NaNs are left out: glibc signs them, newlib (the reference's printf) does not, nor do we. */
static int f3_matches_printf(float v)
{
    static int shown;
    char want[64], got[64];
    ee_buf b;
    if (v != v) {
        return 1;
    }
    ee_buf_init(&b, got, sizeof got);
    ee_buf_f3(&b, v);
    snprintf(want, sizeof want, "%0.3f", (double)v);
    if (!strcmp(got, want)) {
        return 1;
    }
    if (shown++ < 20) {
        fprintf(stderr, "ee_buf_f3(%a) = %s, printf %%0.3f = %s\n", (double)v, got, want);
    }
    return 0;
}

static float float_from_bits(uint32_t bits)
{
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* v and its neighbours up to `ulps` representable floats either side, both signs. */
static int f3_around(float v, int ulps)
{
    uint32_t bits;
    int i, ok = 1;
    memcpy(&bits, &v, sizeof bits);
    for (i = -ulps; i <= ulps; i++) {
        float near = float_from_bits(bits + (uint32_t)i);
        ok &= f3_matches_printf(near) & f3_matches_printf(-near);
    }
    return ok;
}

static void test_f3_matches_printf(void)
{
    uint32_t k, state = 12345u, swept = 0;
    int ok = 1;
    /* Scores of quantised outputs: the reference prints k/256 for k = 16 as 0.062, a tie. */
    for (k = 0; k <= 256; k++) {
        ok &= f3_matches_printf((float)k / 256.0f) & f3_matches_printf(-(float)k / 256.0f);
    }
    /* Exact ties are odd multiples of 1/16; beyond 2^20 every float is a multiple of 1/8. */
    for (k = 1; k < (1u << 24); k += 2u * 997u) {
        ok &= f3_matches_printf((float)k / 16.0f);
    }
    /* Every rounding boundary n + 0.5 thousandths below 100, three floats either side of it. */
    for (k = 0; k < 100000u; k++) {
        ok &= f3_around((float)((k + 0.5) / 1000.0), 3);
    }
    /* Every binade (subnormals to FLT_MAX, inf, and NaN's neighbours) and random bit patterns. */
    for (k = 0; k < 255u; k++) {
        ok &= f3_around(float_from_bits(k << 23), 2) & f3_around(float_from_bits(k << 23 | 0x7fffffu), 1);
    }
    for (k = 0; k < 2000000u; k++, swept++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        if ((state >> 23 & 0xffu) != 0xffu) {
            ok &= f3_matches_printf(float_from_bits(state));
        }
    }
    ok &= f3_matches_printf(float_from_bits(0x7f800000u)) & f3_matches_printf(float_from_bits(0xff800000u));
    CHECK(ok, "ee_buf_f3 differs from printf (first differences above)");
    {
        char text[16];
        ee_buf b;
        ee_buf_init(&b, text, sizeof text);
        ee_buf_f3(&b, 0.0625f);
        ee_buf_f3(&b, float_from_bits(0xffc00000u));
        CHECK(!strcmp(text, "0.062nan"), "a tie rounds to even, a NaN unsigned: got %s", text);
    }
    printf("f3 sweep: %u random values and every boundary compared with printf\n", (unsigned)swept);
}

/* ee_buf_trunc3 against the kws reference's own printf calls, on every k/256 score, 0..1.5 in
 * steps of 1/4096 and random values in +-1000. */
static int trunc3_matches_reference(float v)
{
    char want[64], got[64];
    ee_buf b;
    ee_buf_init(&b, got, sizeof got);
    ee_buf_trunc3(&b, v);
    snprintf(want, sizeof want, "0.%d%d%d", (int)(v * 10), (int)(v * 100) % 10, (int)(v * 1000) % 10);
    if (strcmp(got, want)) {
        fprintf(stderr, "ee_buf_trunc3(%a) = %s, the reference prints %s\n", (double)v, got, want);
        return 0;
    }
    return 1;
}

static void test_trunc3_matches_reference(void)
{
    uint32_t k, state = 777u;
    int ok = 1;
    for (k = 0; k <= 256; k++) {
        ok &= trunc3_matches_reference((float)k / 256.0f);
    }
    for (k = 0; k <= 6144; k++) {
        ok &= trunc3_matches_reference((float)k / 4096.0f) & trunc3_matches_reference(-(float)k / 4096.0f);
    }
    for (k = 0; k < 100000u; k++) {
        state = state * 1664525u + 1013904223u;
        ok &= trunc3_matches_reference(((float)(state >> 8) / 16777216.0f - 0.5f) * 2000.0f);
    }
    CHECK(ok, "ee_buf_trunc3 differs from the reference's arithmetic (differences above)");
    CHECK(trunc3_matches_reference(1.0f), "1.0 prints as the reference does, 0.1000");
}

static void test_crc_cobs(void)
{
    static const uint8_t check[] = "123456789";
    uint8_t in[300], enc[320], dec[320];
    size_t n, i;
    CHECK(ee_crc32(0, check, 9) == 0xCBF43926u, "crc32 check value %08x", (unsigned)ee_crc32(0, check, 9));
    {
        static const uint8_t a[] = {0x11, 0x22, 0x00, 0x33}, want[] = {0x03, 0x11, 0x22, 0x02, 0x33};
        n = ee_cobs_encode(a, 4, enc, sizeof enc);
        CHECK(n == 5 && !memcmp(enc, want, 5), "cobs 11 22 00 33");
    }
    for (i = 0; i < 255; i++) {
        in[i] = (uint8_t)(i + 1);
    }
    n = ee_cobs_encode(in, 254, enc, sizeof enc);
    CHECK(n == 255 && enc[0] == 0xFF, "254 non-zero bytes are one block (n=%zu)", n);
    n = ee_cobs_encode(in, 255, enc, sizeof enc);
    CHECK(n == 257 && enc[0] == 0xFF && enc[255] == 0x02 && enc[256] == 0xFF, "255 bytes split after 254");
    memcpy(dec, enc, n);
    CHECK(ee_cobs_decode(dec, n) == 255 && !memcmp(dec, in, 255), "round trip");
    dec[0] = 0x05;
    CHECK(ee_cobs_decode(dec, 3) == (size_t)-1, "a code running past the end is malformed");
    CHECK(ee_cobs_encode(in, 254, enc, 100) == 0, "short output buffer is refused");
}

static void setup(ee_ctx *ctx, ee_hal *hal, ee_runner *runner, ee_synthetic *syn, ee_config *cfg, uint8_t *buf,
                  const char *model, size_t cap)
{
    memset(hal, 0, sizeof *hal);
    hal->write = cap_write;
    hal->micros = fake_micros;
    CHECK(ee_synthetic_init(syn, runner, model, 1000) == 0, "synthetic init");
    memset(cfg, 0, sizeof *cfg);
    cfg->hal = hal;
    cfg->runner = runner;
    cfg->vendor = "unspecified";
    cfg->model = model;
    cfg->buffer = buf;
    cfg->buffer_size = cap;
    cfg->binary = 1;
    ee_init(ctx, cfg);
}

static const char *send(ee_ctx *ctx, const char *text)
{
    g_out_len = 0;
    g_out[0] = '\0';
    while (*text) {
        ee_feed(ctx, (uint8_t)*text++);
    }
    return g_out;
}

static ee_ctx g_ctx;
static ee_synthetic g_syn;
static uint8_t g_buf[27648];

/* The core keeps pointers to the HAL and runner: they must outlive it (static, like on a board). */
static ee_hal hal;
static ee_runner runner;
static ee_config cfg;

static void test_ascii(void)
{
    const char *out;
    char longcmd[100];
    g_out_len = 0;
    g_now = 0;
    setup(&g_ctx, &hal, &runner, &g_syn, &cfg, g_buf, "kws01", 490);
    CHECK(!strcmp(g_out, "m-timestamp-mode-performance\r\nm-lap-us-1000\r\nm-init-done\r\nm-ready\r\n"), "boot %s", g_out);
    out = send(&g_ctx, "name%");
    CHECK(!strcmp(out, "m-name-dut-[unspecified]\r\nm-ready\r\n"), "name: %s", out);
    out = send(&g_ctx, "%");
    CHECK(!strcmp(out, "e-[Unknown command: ]\r\nm-ready\r\n"), "empty: %s", out);
    memset(longcmd, 'X', 81);
    longcmd[81] = '%';
    longcmd[82] = '\0';
    out = send(&g_ctx, longcmd);
    CHECK(!strcmp(out, "e-[Command longer than 80 characters]\r\nm-ready\r\n"), "long: %s", out);
    longcmd[80] = '%';
    longcmd[81] = '\0';
    out = send(&g_ctx, longcmd);
    CHECK(!strncmp(out, "e-[Unknown command: XXXX", 24), "80 characters are accepted: %s", out);
    out = send(&g_ctx, "db load 491%");
    CHECK(!strcmp(out, "e-[Supplied buffer size 491 exceeds maximum of 490]\r\nm-ready\r\n"), "too big: %s", out);
    out = send(&g_ctx, "db 00%");
    CHECK(!strncmp(out, "e-[Buffer is full", 17), "db without load: %s", out);
    out = send(&g_ctx, "db load 2%db 0102%infer 2 1%");
    CHECK(strstr(out, "Input db has 2 elemented, expected 490\n") != NULL, "stale input warning: %s", out);
    CHECK(strstr(out, "m-infer-start-2\r\nm-lap-us-") != NULL && strstr(out, "m-infer-done\r\nm-results-[0.") != NULL,
          "infer sequence: %s", out);
    out = send(&g_ctx, "profile%");
    CHECK(!strcmp(out, "m-profile-[ULPMark for tinyML Firmware V0.0.1]\r\nm-model-[kws01]\r\n"
                       "m-runner-[synthetic,self-test]\r\nm-ext-[edgeperf-binary-1]\r\nm-ext-[edgeperf-layers-1]\r\n"
                       "m-ready\r\n"), "profile: %s", out);
}

static void test_binary_switch(void)
{
    uint8_t frame[64];
    size_t n, i;
    static const uint8_t hello_v1[] = {1};
    const char *out = send(&g_ctx, "binary 2%");
    CHECK(!strcmp(out, "e-[Unsupported binary protocol version]\r\nm-ready\r\n"), "bad version: %s", out);
    out = send(&g_ctx, "binary 1%");
    CHECK(!strcmp(out, "m-binary-[1]\r\nm-ready\r\n"), "switch: %s", out);
    n = ee_frame_build(EE_MSG_HELLO, 7, hello_v1, 1, frame, sizeof frame);
    g_out_len = 0;
    for (i = 0; i < n; i++) {
        ee_feed(&g_ctx, frame[i]);
    }
    CHECK(g_out_len > 10 && (uint8_t)g_out[g_out_len - 1] == 0, "hello reply is one frame (%zu bytes)", g_out_len);
    memcpy(frame, g_out, g_out_len);
    n = ee_cobs_decode(frame, g_out_len - 1);
    CHECK(n != (size_t)-1 && frame[0] == 0x81 && frame[1] == 7 && frame[2] == 1, "hello reply header");
    CHECK(ee_crc32(0, frame, n - 4) == ((uint32_t)frame[n - 4] | (uint32_t)frame[n - 3] << 8 |
                                        (uint32_t)frame[n - 2] << 16 | (uint32_t)frame[n - 1] << 24), "reply crc");
    n = ee_frame_build(EE_MSG_EXIT, 8, NULL, 0, frame, sizeof frame);
    g_out_len = 0;
    for (i = 0; i < n; i++) {
        ee_feed(&g_ctx, frame[i]);
    }
    out = send(&g_ctx, "name%");
    CHECK(!strcmp(out, "m-name-dut-[unspecified]\r\nm-ready\r\n"), "back in ASCII after EXIT: %s", out);
}

/* Feed one request frame; the replies it produced are left in g_out. */
static void feed_frame(uint8_t type, uint8_t seq, const uint8_t *payload, size_t len)
{
    static uint8_t wire[EE_BIN_RX_CAP];
    size_t n = ee_frame_build(type, seq, payload, len, wire, sizeof wire), i;
    for (i = 0; i < n; i++) {
        ee_feed(&g_ctx, wire[i]);
    }
}

/* The k-th reply frame in g_out, decoded into body; its length, or 0. */
static size_t reply_frame(int k, uint8_t *body, size_t cap)
{
    size_t start = 0, i, n;
    for (i = 0; i < g_out_len; i++) {
        if (g_out[i] == 0) {
            if (k-- == 0) {
                n = i - start;
                if (n > cap) {
                    return 0;
                }
                memcpy(body, g_out + start, n);
                n = ee_cobs_decode(body, n);
                return n == (size_t)-1 ? 0 : n;
            }
            start = i + 1;
        }
    }
    return 0;
}

static uint32_t u32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Version 2: HELLO ends with the RX backlog; INFER names the CRC of the input it ran on, so an input
 * queued behind INFER (while the board infers) cannot be mistaken for the one that was inferred. */
static void test_binary_stream(void)
{
    static uint8_t a[490], b[490], req[4 + 490], body[600];
    uint8_t infer_req[8] = {1, 0, 0, 0, 0, 0, 0, 0}, load_req[4] = {0xea, 0x01, 0, 0}, v2 = 2;
    const char *out;
    size_t i, n;
    g_out_len = 0;
    setup(&g_ctx, &hal, &runner, &g_syn, &cfg, g_buf, "kws01", 490);
    out = send(&g_ctx, "binary 2%");
    CHECK(!strcmp(out, "e-[Unsupported binary protocol version]\r\nm-ready\r\n"), "v2 without backlog: %s", out);
    cfg.rx_backlog = 8192;
    ee_init(&g_ctx, &cfg);
    out = send(&g_ctx, "profile%");
    CHECK(strstr(out, "m-ext-[edgeperf-binary-1]\r\nm-ext-[edgeperf-binary-2]\r\n") != NULL, "profile: %s", out);
    out = send(&g_ctx, "binary 2%");
    CHECK(!strcmp(out, "m-binary-[2]\r\nm-ready\r\n"), "v2 switch: %s", out);
    g_out_len = 0;
    feed_frame(EE_MSG_HELLO, 1, &v2, 1);
    n = reply_frame(0, body, sizeof body);
    CHECK(n > 14 && body[0] == 0x81 && body[2] == 2 && u32_at(body + n - 8) == 8192, "v2 hello ends with the backlog");
    for (i = 0; i < sizeof a; i++) {
        a[i] = (uint8_t)(i * 7u);
        b[i] = (uint8_t)(i * 11u + 5u);
    }
    g_out_len = 0;
    feed_frame(EE_MSG_LOAD, 2, load_req, 4);
    memset(req, 0, 4);
    memcpy(req + 4, a, sizeof a);
    feed_frame(EE_MSG_DATA, 3, req, sizeof req);
    /* INFER, LOAD and DATA of the next input back to back, as a host streams them. */
    g_out_len = 0;
    feed_frame(EE_MSG_INFER, 4, infer_req, 8);
    feed_frame(EE_MSG_LOAD, 5, load_req, 4);
    memcpy(req + 4, b, sizeof b);
    feed_frame(EE_MSG_DATA, 6, req, sizeof req);
    n = reply_frame(0, body, sizeof body);
    CHECK(n == 2 + 13 + 4 * 12 + 4 && body[0] == 0x84 && body[1] == 4 && u32_at(body + 10) == ee_crc32(0, a, sizeof a)
          && body[14] == 12, "v2 infer reply carries the inferred input's crc (n=%zu)", n);
    n = reply_frame(1, body, sizeof body);
    CHECK(n == 11 && body[0] == 0x82 && body[1] == 5, "queued LOAD acknowledged after INFER");
    n = reply_frame(2, body, sizeof body);
    CHECK(n == 11 && body[0] == 0x83 && body[1] == 6 && body[2] == EE_BIN_DONE, "queued DATA completes the next input");
    g_out_len = 0;
    feed_frame(EE_MSG_INFER, 7, infer_req, 8);
    n = reply_frame(0, body, sizeof body);
    CHECK(n > 14 && body[0] == 0x84 && u32_at(body + 10) == ee_crc32(0, b, sizeof b), "next infer runs on the streamed input");
    g_out_len = 0;
    feed_frame(EE_MSG_HELLO, 8, infer_req, 1);
    n = reply_frame(0, body, sizeof body);
    CHECK(n == 11 && body[0] == 0xff && body[2] == EE_ERR_ARG && u32_at(body + 3) == 2, "v1 hello refused in a v2 session");
    cfg.rx_backlog = 0;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s[0] && s[1] && n < cap) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) {
            break;
        }
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

/* frames.txt: "frame TYPE SEQ PAYLOAD WIRE" (hex; PAYLOAD "-" when empty). */
/* The layers table and its reply lines, through the API and through the `layers` command. */
static void test_layers(void)
{
    static ee_layers l;
    char text[96];
    const char *out;
    char want[64];
    size_t k;
    g_now = 0;
    ee_layers_attach(&l, fake_micros, NULL);
    CHECK(ee_layers_line(&l, 0, text, sizeof text) && !strcmp(text, "m-layers-[iterations=0,count=0]"), "empty: %s", text);
    CHECK(!ee_layers_line(&l, 1, text, sizeof text), "empty table has one line");
    ee_layers_begin(&l, "CONV_2D"); /* not recording: ignored */
    ee_layers_end(&l);
    ee_layers_start(&l);
    for (k = 0; k < 2; k++) {
        size_t op;
        ee_layers_inference_begin(&l);
        for (op = 0; op < EE_MAX_LAYERS + 3; op++) {
            ee_layers_begin(&l, op == 1 ? "bad tag!" : "CONV_2D");
            ee_layers_begin(&l, "NESTED"); /* counts in its operator */
            ee_layers_end(&l);
            ee_layers_end(&l);
        }
        ee_layers_inference_end(&l);
    }
    ee_layers_stop(&l);
    ee_layers_line(&l, 0, text, sizeof text);
    sprintf(want, "m-layers-[iterations=2,count=%u]", (unsigned)EE_MAX_LAYERS);
    CHECK(!strcmp(text, want), "header: %s", text);
    /* An operator reads the counter at its begin and end, 1000 us apart; a nested pair reads nothing. */
    CHECK(ee_layers_line(&l, 1, text, sizeof text) && !strcmp(text, "m-layer-[0,CONV_2D,2000]"), "op 0: %s", text);
    CHECK(ee_layers_line(&l, 2, text, sizeof text) && !strcmp(text, "m-layer-[1,bad_tag_,2000]"), "op 1: %s", text);
    CHECK(ee_layers_line(&l, EE_MAX_LAYERS + 1, text, sizeof text) &&
          !strcmp(text, "e-[Layer table full: 3 operators not recorded]"), "full: %s", text);
    CHECK(!ee_layers_line(&l, EE_MAX_LAYERS + 2, text, sizeof text), "no line after the error");

    g_out_len = 0;
    g_now = 0;
    setup(&g_ctx, &hal, &runner, &g_syn, &cfg, g_buf, "kws01", 490);
    out = send(&g_ctx, "layers%");
    CHECK(!strcmp(out, "m-layers-[iterations=0,count=0]\r\nm-ready\r\n"), "layers before infer: %s", out);
    send(&g_ctx, "db load 2%db 0102%");
    send(&g_ctx, "infer 3 5%");
    out = send(&g_ctx, "layers%");
    CHECK(!strncmp(out, "m-layers-[iterations=3,count=12]\r\nm-layer-[0,SYNTHETIC_MAC,3000]\r\n", 66),
          "layers after infer 3 5 (warm-ups not counted): %s", out);
    CHECK(strstr(out, "m-layer-[11,SYNTHETIC_MAC,3000]\r\nm-ready\r\n") != NULL, "last operator: %s", out);
}

static void test_frame_vectors(const char *path)
{
    FILE *f = fopen(path, "r");
    char lineb[8192], payload_hex[4000], wire_hex[4200];
    static uint8_t payload[2000], wire[2100], built[2100];
    unsigned type, seq;
    int count = 0;
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) {
        return;
    }
    while (fgets(lineb, sizeof lineb, f)) {
        size_t plen, wlen, n;
        if (sscanf(lineb, "frame %x %x %3999s %4199s", &type, &seq, payload_hex, wire_hex) != 4) {
            continue;
        }
        plen = strcmp(payload_hex, "-") ? unhex(payload_hex, payload, sizeof payload) : 0;
        wlen = unhex(wire_hex, wire, sizeof wire);
        n = ee_frame_build((uint8_t)type, (uint8_t)seq, payload, plen, built, sizeof built);
        CHECK(n == wlen && !memcmp(built, wire, n), "vector %d encodes differently", count + 1);
        n = ee_cobs_decode(wire, wlen - 1);
        CHECK(n == plen + 6 && wire[0] == type && wire[1] == seq && !memcmp(wire + 2, payload, plen),
              "vector %d decodes differently", count + 1);
        count++;
    }
    fclose(f);
    CHECK(count > 0, "no frame vectors in %s", path);
    printf("frame vectors: %d\n", count);
}

int main(int argc, char **argv)
{
    test_fmt();
    test_f3_matches_printf();
    test_trunc3_matches_reference();
    test_crc_cobs();
    test_ascii();
    test_binary_switch();
    test_binary_stream();
    test_layers();
    if (argc > 1) {
        test_frame_vectors(argv[1]);
    }
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
