/* EEMBC-compatible DUT protocol: the reference firmware's commands and strings, without its
 * memory-safety bugs (over-long, empty and over-sized requests get an e- line instead). */
#include "ee/core.h"

#include "ee/fmt.h"

#define LINE_CAP 400u

static const char *const help_lines[] = {
    EE_FW_VERSION,
    "",
    "help         : Print this information",
    "name         : Print the name of the device",
    "timestsamp   : Generate a timetsamp",
    "db SUBCMD    : Manipulate a generic byte buffer",
    "  load N     : Allocate N bytes and set load counter",
    "  db HH[HH]* : Load 8-bit hex byte(s) until N bytes",
    "  print [N=16] [offset=0]",
    "             : Print N bytes at offset as hex",
    "infer N [W=0]: Load input, execute N inferences after W warmup loops",
    "results      : Return the result fp32 vector",
};

static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

void ee_write(ee_ctx *ctx, const char *text)
{
    size_t n = 0;
    while (text[n]) {
        n++;
    }
    ctx->cfg.hal->write(ctx->cfg.hal->user, (const uint8_t *)text, n);
}

static void line(ee_ctx *ctx, const char *text)
{
    ee_write(ctx, text);
    ee_write(ctx, "\r\n");
}

static void lap(ee_ctx *ctx, uint32_t us)
{
    char text[32];
    ee_buf b;
    ee_buf_init(&b, text, sizeof text);
    ee_buf_str(&b, "m-lap-us-");
    ee_buf_u32(&b, us);
    line(ctx, text);
}

static void timestamp(ee_ctx *ctx)
{
    if (ctx->cfg.energy_mode) {
        if (ctx->cfg.hal->timestamp_pin) {
            ctx->cfg.hal->timestamp_pin(ctx->cfg.hal->user);
        }
    } else {
        lap(ctx, ctx->cfg.hal->micros(ctx->cfg.hal->user));
    }
}

static ee_profile profile_of(const char *model)
{
    if (str_eq(model, "kws01")) {
        return EE_PROFILE_KWS01;
    }
    if (str_eq(model, "vww01")) {
        return EE_PROFILE_VWW01;
    }
    if (str_eq(model, "ic01") || str_eq(model, "ic02")) { /* ic02: the ic01 input and output, a larger model */
        return EE_PROFILE_IC01;
    }
    if (str_eq(model, "ad01")) {
        return EE_PROFILE_AD01;
    }
    return EE_PROFILE_OTHER;
}

void ee_init(ee_ctx *ctx, const ee_config *cfg)
{
    size_t i;
    ctx->cfg = *cfg;
    if (cfg->runner->layers) {
        ee_layers_attach(cfg->runner->layers, cfg->hal->micros, cfg->hal->user);
    }
    ctx->profile = profile_of(cfg->model);
    ctx->cmd_len = 0;
    ctx->cmd_overflow = 0;
    ctx->enabled = 0;
    ctx->buff_size = 0;
    ctx->buff_pos = 0;
    ctx->result_count = 0;
    ctx->binary_mode = 0;
    for (i = 0; i < EE_MAX_RESULTS; i++) {
        ctx->results[i] = 0.0f;
    }
    line(ctx, cfg->energy_mode ? "m-timestamp-mode-energy" : "m-timestamp-mode-performance");
    timestamp(ctx);
    line(ctx, "m-init-done");
    ctx->enabled = 1;
    line(ctx, "m-ready");
}

/* strtok(" ")-like tokenizer that does not keep hidden state. */
static size_t tokenize(char *command, char **tokens, size_t max)
{
    size_t n = 0;
    char *p = command;
    while (*p && n < max) {
        while (*p == ' ') {
            p++;
        }
        if (!*p) {
            break;
        }
        tokens[n++] = p;
        while (*p && *p != ' ') {
            p++;
        }
        if (*p) {
            *p++ = '\0';
        }
    }
    return n;
}

static void error_with(ee_ctx *ctx, const char *prefix, const char *detail, const char *suffix)
{
    char text[LINE_CAP];
    ee_buf b;
    ee_buf_init(&b, text, sizeof text);
    ee_buf_str(&b, prefix);
    ee_buf_str(&b, detail);
    ee_buf_str(&b, suffix);
    line(ctx, text);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static void db_load(ee_ctx *ctx, char **args, size_t nargs)
{
    long size;
    char text[LINE_CAP];
    ee_buf b;
    if (nargs < 2) {
        line(ctx, "e-[Command 'db load' requires the # of bytes]");
        return;
    }
    size = ee_atol(args[1]);
    if (size <= 0) {
        line(ctx, "e-[Command 'db load' must be >0 bytes]");
        return;
    }
    ee_buf_init(&b, text, sizeof text);
    if ((unsigned long)size > ctx->cfg.buffer_size) {
        /* The reference accepts the size and overflows later; we refuse it. */
        ee_buf_str(&b, "e-[Supplied buffer size ");
        ee_buf_u32(&b, (uint32_t)size);
        ee_buf_str(&b, " exceeds maximum of ");
        ee_buf_u32(&b, (uint32_t)ctx->cfg.buffer_size);
        ee_buf_str(&b, "]");
        line(ctx, text);
        return;
    }
    ctx->buff_size = (size_t)size;
    ctx->buff_pos = 0;
    ee_buf_str(&b, "m-[Expecting ");
    ee_buf_u32(&b, (uint32_t)size);
    ee_buf_str(&b, " bytes]");
    line(ctx, text);
}

static void db_hex(ee_ctx *ctx, const char *digits)
{
    size_t len = 0, i;
    while (digits[len]) {
        len++;
    }
    if (len % 2u) {
        line(ctx, "e-[Insufficent number of hex digits]");
        return;
    }
    for (i = 0; i < len; i += 2) {
        int hi = hex_value(digits[i]), lo = hex_value(digits[i + 1]);
        if (hi < 0 || lo < 0) {
            char pair[3];
            pair[0] = digits[i];
            pair[1] = digits[i + 1];
            pair[2] = '\0';
            error_with(ctx, "e-[Invalid hex digit '", pair, "']");
            return;
        }
        if (ctx->buff_pos >= ctx->buff_size) {
            /* The reference writes past the buffer here. */
            line(ctx, "e-[Buffer is full: send 'db load N' first]");
            return;
        }
        ctx->cfg.buffer[ctx->buff_pos++] = (uint8_t)(hi * 16 + lo);
        if (ctx->buff_pos == ctx->buff_size) {
            line(ctx, "m-load-done");
            return;
        }
    }
}

static void db_print(ee_ctx *ctx)
{
    size_t i;
    char text[48];
    ee_buf b;
    for (i = 0; i < ctx->buff_size; i += 8) {
        size_t j;
        ee_buf_init(&b, text, sizeof text);
        ee_buf_str(&b, "m-buffer");
        for (j = i; j < i + 8 && j < ctx->buff_size; j++) {
            ee_buf_char(&b, '-');
            ee_buf_hex2(&b, ctx->cfg.buffer[j]);
        }
        line(ctx, text);
    }
    if (ctx->buff_size % 8u) {
        ee_write(ctx, "\r\n");
    }
}

static void db(ee_ctx *ctx, char **args, size_t nargs)
{
    if (nargs == 0) {
        line(ctx, "e-[Command 'db' requires a subcommand]");
    } else if (str_eq(args[0], "load")) {
        db_load(ctx, args, nargs);
    } else if (str_eq(args[0], "print")) {
        db_print(ctx);
    } else {
        db_hex(ctx, args[0]);
    }
}

int ee_load_input(ee_ctx *ctx)
{
    const ee_runner *r = ctx->cfg.runner;
    if (ctx->buff_pos != r->input_bytes) {
        return -1;
    }
    return r->load(r->ctx, ctx->cfg.buffer, ctx->buff_pos);
}

int ee_run_timed(ee_ctx *ctx, uint32_t iterations, uint32_t warmups, uint32_t *t0, uint32_t *t1)
{
    const ee_runner *r = ctx->cfg.runner;
    const ee_hal *hal = ctx->cfg.hal;
    int status = 0;
    uint32_t i;
    /* A failing runner stops the loop: its results are void anyway. */
    for (i = 0; i < warmups && !status; i++) {
        status |= r->infer(r->ctx);
    }
    if (hal->led) {
        hal->led(hal->user, 1);
    }
    if (hal->timing_begin) {
        hal->timing_begin(hal->user);
    }
    /* Only the counter is read inside the window: the lines are printed afterwards, so UART
     * back-pressure never lands in the measurement. */
    if (ctx->cfg.energy_mode && hal->timestamp_pin) {
        hal->timestamp_pin(hal->user);
    }
    if (r->layers) {
        ee_layers_start(r->layers);
    }
    *t0 = hal->micros(hal->user);
    for (i = 0; i < iterations && !status; i++) {
        if (r->layers) {
            ee_layers_inference_begin(r->layers);
        }
        status |= r->infer(r->ctx);
        if (r->layers) {
            ee_layers_inference_end(r->layers);
        }
    }
    *t1 = hal->micros(hal->user);
    if (r->layers) {
        ee_layers_stop(r->layers);
    }
    if (ctx->cfg.energy_mode && hal->timestamp_pin) {
        hal->timestamp_pin(hal->user);
    }
    if (hal->led) {
        hal->led(hal->user, 0);
    }
    ctx->result_count = r->results(r->ctx, ctx->results, EE_MAX_RESULTS);
    if (ctx->result_count > EE_MAX_RESULTS) {
        ctx->result_count = EE_MAX_RESULTS;
    }
    return status;
}

static void results(ee_ctx *ctx)
{
    char text[LINE_CAP];
    ee_buf b;
    size_t i;
    ee_buf_init(&b, text, sizeof text);
    ee_buf_str(&b, "m-results-[");
    for (i = 0; i < ctx->result_count; i++) {
        if (ctx->profile == EE_PROFILE_KWS01) {
            /* The reference prints 0.%d%d%d digit by digit: truncated, never rounded. */
            if (i) {
                ee_buf_char(&b, ',');
            }
            ee_buf_trunc3(&b, ctx->results[i]);
        } else if (ctx->profile == EE_PROFILE_VWW01) {
            /* The VWW reference loops over three results for two outputs: a trailing comma. */
            ee_buf_f3(&b, ctx->results[i]);
            ee_buf_char(&b, ',');
        } else {
            if (i) {
                ee_buf_char(&b, ',');
            }
            ee_buf_f3(&b, ctx->results[i]);
        }
    }
    ee_buf_char(&b, ']');
    line(ctx, text);
}

static void infer(ee_ctx *ctx, char **args, size_t nargs)
{
    long iterations = nargs > 0 ? ee_atol(args[0]) : 1;
    long warmups = nargs > 1 ? ee_atol(args[1]) : 10;
    uint32_t t0, t1;
    char text[LINE_CAP];
    ee_buf b;
    if (iterations <= 0) {
        line(ctx, "e-[Inference iterations must be >0]");
        return;
    }
    if (warmups < 0) {
        line(ctx, "e-[Inference warmup must be >=0]");
        return;
    }
    if (ctx->buff_pos != ctx->cfg.runner->input_bytes) {
        /* Same words as the reference (sic); like it, we run on the previous input. */
        ee_buf_init(&b, text, sizeof text);
        ee_buf_str(&b, "Input db has ");
        ee_buf_u32(&b, (uint32_t)ctx->buff_pos);
        ee_buf_str(&b, " elemented, expected ");
        ee_buf_u32(&b, (uint32_t)ctx->cfg.runner->input_bytes);
        ee_buf_str(&b, "\n");
        ee_write(ctx, text);
    } else if (ee_load_input(ctx) != 0) {
        line(ctx, "e-[Input conversion failed]");
        return;
    }
    ee_buf_init(&b, text, sizeof text);
    ee_buf_str(&b, "m-warmup-start-");
    ee_buf_u32(&b, (uint32_t)warmups);
    line(ctx, text);
    /* The reference interleaves these lines with the loops; all but the laps are printed
     * before the window opens, and the laps right after it closes. */
    {
        const ee_runner *r = ctx->cfg.runner;
        long i;
        int status = 0;
        for (i = 0; i < warmups && !status; i++) {
            status |= r->infer(r->ctx);
        }
        line(ctx, "m-warmup-done");
        ee_buf_init(&b, text, sizeof text);
        ee_buf_str(&b, "m-infer-start-");
        ee_buf_u32(&b, (uint32_t)iterations);
        line(ctx, text);
        status |= ee_run_timed(ctx, (uint32_t)iterations, 0, &t0, &t1);
        if (!ctx->cfg.energy_mode) {
            lap(ctx, t0);
            lap(ctx, t1);
        }
        if (status) {
            line(ctx, "e-[Inference failed]");
        }
    }
    line(ctx, "m-infer-done");
    results(ctx);
}

static void profile(ee_ctx *ctx)
{
    line(ctx, "m-profile-[" EE_FW_VERSION "]");
    error_with(ctx, "m-model-[", ctx->cfg.model, "]");
    /* Extensions: extra m- lines, which hosts that match known prefixes skip. */
    error_with(ctx, "m-runner-[", ctx->cfg.runner->name, ctx->cfg.runner->self_test ? ",self-test]" : "]");
    if (ctx->cfg.binary) {
        line(ctx, "m-ext-[edgeperf-binary-1]");
        if (ctx->cfg.rx_backlog) {
            line(ctx, "m-ext-[edgeperf-binary-2]");
        }
    }
    if (ctx->cfg.runner->layers) {
        line(ctx, "m-ext-[edgeperf-layers-1]");
    }
    if (ctx->cfg.runner->arena_used_bytes) {
        char text[48];
        ee_buf b;
        ee_buf_init(&b, text, sizeof text);
        ee_buf_str(&b, "m-ext-[arena-used-bytes=");
        ee_buf_u32(&b, (uint32_t)ctx->cfg.runner->arena_used_bytes);
        ee_buf_char(&b, ']');
        line(ctx, text);
    }
    if (ctx->cfg.runner->facts) {
        const char *const *fact;
        for (fact = ctx->cfg.runner->facts; *fact; fact++) {
            error_with(ctx, "m-ext-[", *fact, "]");
        }
    }
    if (ctx->cfg.board_ext) {
        error_with(ctx, "m-ext-[", ctx->cfg.board_ext, "]");
    }
}

static void layers(ee_ctx *ctx)
{
    char text[LINE_CAP];
    size_t n;
    for (n = 0; ee_layers_line(ctx->cfg.runner->layers, n, text, sizeof text); n++) {
        line(ctx, text);
    }
}

static void binary(ee_ctx *ctx, char **args, size_t nargs)
{
    long version = nargs < 1 ? 0 : ee_atol(args[0]);
    if (!ctx->cfg.binary) {
        error_with(ctx, "e-[Unknown command: ", "binary", "]");
    } else if (version != (long)EE_BIN_VERSION &&
               !(version == (long)EE_BIN_STREAM_VERSION && ctx->cfg.rx_backlog)) {
        line(ctx, "e-[Unsupported binary protocol version]");
    } else {
        line(ctx, version == (long)EE_BIN_VERSION ? "m-binary-[1]" : "m-binary-[2]");
        line(ctx, "m-ready");
        ee_binary_enter(ctx, (uint8_t)version);
        ctx->binary_mode = 1;
        return;
    }
    line(ctx, "m-ready");
}

void ee_command(ee_ctx *ctx, char *command)
{
    char *tokens[4];
    size_t n = tokenize(command, tokens, 4);
    const char *head = n ? tokens[0] : "";
    if (str_eq(head, "binary")) {
        binary(ctx, tokens + 1, n ? n - 1 : 0);
        return;
    }
    if (str_eq(head, "name")) {
        error_with(ctx, "m-name-dut-[", ctx->cfg.vendor, "]");
    } else if (str_eq(head, "timestamp")) {
        timestamp(ctx);
    } else if (str_eq(head, "profile")) {
        profile(ctx);
    } else if (str_eq(head, "help")) {
        size_t i;
        for (i = 0; i < sizeof help_lines / sizeof help_lines[0]; i++) {
            line(ctx, help_lines[i]);
        }
    } else if (str_eq(head, "db")) {
        db(ctx, tokens + 1, n - 1);
    } else if (str_eq(head, "infer")) {
        infer(ctx, tokens + 1, n - 1);
    } else if (str_eq(head, "results")) {
        results(ctx);
    } else if (str_eq(head, "layers") && ctx->cfg.runner->layers) {
        layers(ctx);
    } else {
        /* Also the reply to an empty command, which is undefined behaviour in the reference. */
        error_with(ctx, "e-[Unknown command: ", head, "]");
    }
    line(ctx, "m-ready");
}

void ee_feed(ee_ctx *ctx, uint8_t byte)
{
    if (ctx->binary_mode) {
        if (ee_binary_feed(ctx, byte)) {
            ctx->binary_mode = 0;
            ctx->cmd_len = 0;
            ctx->cmd_overflow = 0;
        }
        return;
    }
    if (byte != '%') {
        if (ctx->cmd_len < EE_CMD_SIZE) {
            ctx->cmd[ctx->cmd_len++] = (char)byte;
        } else {
            ctx->cmd_overflow = 1;
        }
        return;
    }
    ctx->cmd[ctx->cmd_len] = '\0';
    if (ctx->enabled) {
        if (ctx->cmd_overflow) {
            line(ctx, "e-[Command longer than 80 characters]");
            line(ctx, "m-ready");
        } else {
            ee_command(ctx, ctx->cmd);
        }
    }
    ctx->cmd_len = 0;
    ctx->cmd_overflow = 0;
}
