/* DUT side of the edgeperf binary protocol: COBS frames with CRC-32 and sequence numbers.
 * A request repeated with the same type and sequence number is answered from the reply
 * cache without running it again, so a host may retransmit whenever an ACK goes missing. */
#include "ee/binary.h"

#include "ee/core.h"

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void send(ee_ctx *ctx, uint8_t type, uint8_t seq, const uint8_t *payload, size_t len, int cache)
{
    /* Replies to understood requests are kept for retransmissions; replies to frames that
     * could not be read (bad CRC, framing) must not evict them. */
    ee_binary *b = &ctx->bin;
    uint8_t scratch[32];
    uint8_t *out = cache ? b->reply : scratch;
    size_t n = ee_frame_build(type, seq, payload, len, out, cache ? sizeof b->reply : sizeof scratch);
    if (cache) {
        b->reply_len = n;
    }
    if (n) {
        ctx->cfg.hal->write(ctx->cfg.hal->user, out, n);
    }
}

static void send_error(ee_ctx *ctx, uint8_t seq, uint8_t code, uint32_t value)
{
    uint8_t p[5];
    p[0] = code;
    put_u32(p + 1, value);
    send(ctx, EE_MSG_ERROR, seq, p, sizeof p, 1);
}

static void send_status(ee_ctx *ctx, uint8_t type, uint8_t seq, uint8_t status, uint32_t value)
{
    uint8_t p[5];
    p[0] = status;
    put_u32(p + 1, value);
    send(ctx, (uint8_t)(type | EE_MSG_REPLY), seq, p, sizeof p, 1);
}

void ee_binary_enter(ee_ctx *ctx, uint8_t version)
{
    ctx->bin.version = version;
    ctx->bin.rx_len = 0;
    ctx->bin.rx_overflow = 0;
    ctx->bin.have_last = 0;
    ctx->bin.reply_len = 0;
    ctx->bin.leave = 0;
}

static size_t put_string(uint8_t *p, const char *s, size_t cap)
{
    size_t n = 0;
    while (s[n] && n + 1 < cap && n < 255u) {
        p[1 + n] = (uint8_t)s[n];
        n++;
    }
    p[0] = (uint8_t)n;
    return n + 1;
}

static void hello(ee_ctx *ctx, uint8_t seq, const uint8_t *p, size_t len)
{
    uint8_t out[EE_BIN_REPLY_CAP / 2];
    size_t n = 0;
    const ee_hal *hal = ctx->cfg.hal;
    if (len != 1) {
        send_error(ctx, seq, EE_ERR_LENGTH, 1);
        return;
    }
    if (p[0] != ctx->bin.version) {
        send_error(ctx, seq, EE_ERR_ARG, ctx->bin.version);
        return;
    }
    out[n++] = ctx->bin.version;
    out[n++] = (uint8_t)(EE_BIN_MAX_CHUNK & 0xFFu);
    out[n++] = (uint8_t)(EE_BIN_MAX_CHUNK >> 8);
    put_u32(out + n, (uint32_t)ctx->cfg.buffer_size);
    n += 4;
    out[n++] = (uint8_t)((ctx->cfg.runner->self_test ? 1u : 0u) | (ctx->cfg.energy_mode ? 2u : 0u) |
                         (hal->set_baud ? 4u : 0u));
    n += put_string(out + n, ctx->cfg.model, 24);
    n += put_string(out + n, ctx->cfg.runner->name, 40);
    if (ctx->bin.version >= EE_BIN_STREAM_VERSION) {
        put_u32(out + n, (uint32_t)ctx->cfg.rx_backlog);
        n += 4;
    }
    send(ctx, EE_MSG_HELLO | EE_MSG_REPLY, seq, out, n, 1);
}

static void load(ee_ctx *ctx, uint8_t seq, const uint8_t *p, size_t len)
{
    uint32_t size;
    if (len != 4) {
        send_error(ctx, seq, EE_ERR_LENGTH, 4);
        return;
    }
    size = get_u32(p);
    if (size == 0) {
        send_error(ctx, seq, EE_ERR_ARG, 0);
    } else if (size > ctx->cfg.buffer_size) {
        send_error(ctx, seq, EE_ERR_TOO_BIG, (uint32_t)ctx->cfg.buffer_size);
    } else {
        ctx->buff_size = size;
        ctx->buff_pos = 0;
        send_status(ctx, EE_MSG_LOAD, seq, EE_BIN_OK, size);
    }
}

static void data(ee_ctx *ctx, uint8_t seq, const uint8_t *p, size_t len)
{
    uint32_t offset;
    size_t i, count;
    if (len < 5 || len - 4 > EE_BIN_MAX_CHUNK) {
        send_error(ctx, seq, EE_ERR_LENGTH, EE_BIN_MAX_CHUNK);
        return;
    }
    offset = get_u32(p);
    count = len - 4;
    if (ctx->buff_size == 0) {
        send_error(ctx, seq, EE_ERR_NOT_LOADED, 0);
    } else if (offset != ctx->buff_pos) {
        send_error(ctx, seq, EE_ERR_OFFSET, (uint32_t)ctx->buff_pos);
    } else if (count > ctx->buff_size - ctx->buff_pos) {
        send_error(ctx, seq, EE_ERR_TOO_BIG, (uint32_t)ctx->buff_size);
    } else {
        for (i = 0; i < count; i++) {
            ctx->cfg.buffer[ctx->buff_pos + i] = p[4 + i];
        }
        ctx->buff_pos += count;
        send_status(ctx, EE_MSG_DATA, seq, ctx->buff_pos == ctx->buff_size ? EE_BIN_DONE : EE_BIN_OK,
                    (uint32_t)ctx->buff_pos);
    }
}

static void infer(ee_ctx *ctx, uint8_t seq, const uint8_t *p, size_t len)
{
    uint8_t out[13 + 4 * EE_MAX_RESULTS];
    uint32_t iterations, warmups, t0, t1, input_crc = 0;
    size_t i, n, count_at;
    int status;
    if (len != 8) {
        send_error(ctx, seq, EE_ERR_LENGTH, 8);
        return;
    }
    iterations = get_u32(p);
    warmups = get_u32(p + 4);
    if (iterations == 0) {
        send_error(ctx, seq, EE_ERR_ARG, 0);
        return;
    }
    if (ee_load_input(ctx) != 0) {
        send_error(ctx, seq, EE_ERR_NOT_LOADED, (uint32_t)ctx->buff_pos);
        return;
    }
    if (ctx->bin.version >= EE_BIN_STREAM_VERSION) {
        /* Before the timed loop: the input buffer may take the next upload while the model runs. */
        input_crc = ee_crc32(0, ctx->cfg.buffer, ctx->buff_pos);
    }
    status = ee_run_timed(ctx, iterations, warmups, &t0, &t1);
    put_u32(out, t0);
    put_u32(out + 4, t1);
    count_at = 8;
    if (ctx->bin.version >= EE_BIN_STREAM_VERSION) {
        put_u32(out + 8, input_crc);
        count_at = 12;
    }
    out[count_at] = (uint8_t)(status ? 0 : ctx->result_count);
    n = count_at + 1;
    for (i = 0; i < out[count_at]; i++) {
        union { float f; uint32_t u; } v;
        v.f = ctx->results[i];
        put_u32(out + n, v.u);
        n += 4;
    }
    if (status) {
        send_error(ctx, seq, EE_ERR_ARG, 1);
        return;
    }
    send(ctx, EE_MSG_INFER | EE_MSG_REPLY, seq, out, n, 1);
}

static void baud(ee_ctx *ctx, uint8_t seq, const uint8_t *p, size_t len)
{
    const ee_hal *hal = ctx->cfg.hal;
    uint32_t rate;
    if (len != 4) {
        send_error(ctx, seq, EE_ERR_LENGTH, 4);
        return;
    }
    rate = get_u32(p);
    if (!hal->set_baud || hal->set_baud(hal->user, rate, 0) != 0) {
        send_error(ctx, seq, EE_ERR_BAUD, rate);
        return;
    }
    send_status(ctx, EE_MSG_BAUD, seq, EE_BIN_OK, rate);
    /* The reply went out at the old rate (write blocks until it is on the wire). */
    hal->set_baud(hal->user, rate, 1);
}

void ee_binary_frame(ee_ctx *ctx, uint8_t *body, size_t len)
{
    ee_binary *b = &ctx->bin;
    uint8_t type, seq;
    if (len < 6) {
        send(ctx, EE_MSG_ERROR, len >= 2 ? body[1] : 0, (const uint8_t *)"\x02\x06\x00\x00\x00", 5, 0);
        return;
    }
    type = body[0];
    seq = body[1];
    if (ee_crc32(0, body, len - 4) != get_u32(body + len - 4)) {
        uint8_t p[5] = {EE_ERR_CRC, 0, 0, 0, 0};
        send(ctx, EE_MSG_ERROR, seq, p, sizeof p, 0);
        return;
    }
    if (b->have_last && type == b->last_type && seq == b->last_seq && b->reply_len) {
        ctx->cfg.hal->write(ctx->cfg.hal->user, b->reply, b->reply_len);
        return;
    }
    b->have_last = 1;
    b->last_type = type;
    b->last_seq = seq;
    len -= 6;
    body += 2;
    switch (type) {
    case EE_MSG_HELLO:
        hello(ctx, seq, body, len);
        break;
    case EE_MSG_LOAD:
        load(ctx, seq, body, len);
        break;
    case EE_MSG_DATA:
        data(ctx, seq, body, len);
        break;
    case EE_MSG_INFER:
        infer(ctx, seq, body, len);
        break;
    case EE_MSG_BAUD:
        baud(ctx, seq, body, len);
        break;
    case EE_MSG_EXIT:
        send_status(ctx, EE_MSG_EXIT, seq, EE_BIN_OK, 0);
        b->leave = 1; /* back to ASCII once this frame is handled */
        break;
    default:
        send_error(ctx, seq, EE_ERR_TYPE, type);
        break;
    }
}

int ee_binary_feed(ee_ctx *ctx, uint8_t byte)
{
    ee_binary *b = &ctx->bin;
    size_t n;
    if (byte != 0) {
        if (b->rx_len < sizeof b->rx) {
            b->rx[b->rx_len++] = byte;
        } else {
            b->rx_overflow = 1;
        }
        return 0;
    }
    if (b->rx_overflow) {
        uint8_t p[5] = {EE_ERR_TOO_BIG, 0, 0, 0, 0};
        put_u32(p + 1, EE_BIN_MAX_CHUNK);
        send(ctx, EE_MSG_ERROR, 0, p, sizeof p, 0);
    } else if (b->rx_len) {
        n = ee_cobs_decode(b->rx, b->rx_len);
        if (n == (size_t)-1) {
            uint8_t p[5] = {EE_ERR_FRAMING, 0, 0, 0, 0};
            send(ctx, EE_MSG_ERROR, 0, p, sizeof p, 0);
        } else {
            ee_binary_frame(ctx, b->rx, n);
        }
    }
    b->rx_len = 0;
    b->rx_overflow = 0;
    if (b->leave) {
        b->leave = 0;
        return 1;
    }
    return 0;
}
