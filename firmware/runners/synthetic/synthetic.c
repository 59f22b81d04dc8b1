/* Synthetic compute runner (harness self-test; see synthetic.h). */
#include "synthetic.h"

static int model_is(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int syn_load(void *ctx, const uint8_t *data, size_t len)
{
    ee_synthetic *s = (ee_synthetic *)ctx;
    size_t i;
    if (len != s->input_bytes) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        s->input[i] = (int8_t)(s->u8_to_i8 ? (int)data[i] - 128 : (int)(int8_t)data[i]);
    }
    return 0;
}

static int syn_infer(void *ctx)
{
    /* Pseudo-random int8 weights from an LCG: fixed work, result depends on every input byte. */
    ee_synthetic *s = (ee_synthetic *)ctx;
    uint32_t state = 0x2545F491u, m, per = s->macs / (uint32_t)s->outputs;
    size_t k, i = 0;
    for (k = 0; k < s->outputs; k++) {
        int32_t acc = 0;
        ee_layers_begin(&s->layers, "SYNTHETIC_MAC");
        for (m = 0; m < per; m++) {
            state = state * 1664525u + 1013904223u;
            acc += (int32_t)s->input[i] * (int8_t)(state >> 24);
            if (++i == s->input_bytes) {
                i = 0;
            }
        }
        s->acc[k] = acc;
        ee_layers_end(&s->layers);
    }
    return 0;
}

static size_t syn_results(void *ctx, float *out, size_t cap)
{
    ee_synthetic *s = (ee_synthetic *)ctx;
    size_t k, n = s->outputs < cap ? s->outputs : cap;
    for (k = 0; k < n; k++) {
        uint32_t h = (uint32_t)s->acc[k] * 2654435761u;
        out[k] = (float)(h >> 22) / 1024.0f; /* in [0, 1): looks like a score, is not one */
    }
    return n;
}

int ee_synthetic_init(ee_synthetic *s, ee_runner *runner, const char *model, uint32_t macs)
{
    size_t i;
    if (model_is(model, "kws01")) {
        s->input_bytes = 490;
        s->outputs = 12;
        s->u8_to_i8 = 0;
    } else if (model_is(model, "vww01")) {
        s->input_bytes = 27648;
        s->outputs = 2;
        s->u8_to_i8 = 1;
    } else if (model_is(model, "ic01") || model_is(model, "ic02")) {
        s->input_bytes = 3072;
        s->outputs = 10;
        s->u8_to_i8 = 1;
    } else if (model_is(model, "ad01")) {
        s->input_bytes = 2560;
        s->outputs = 1;
        s->u8_to_i8 = 0;
    } else {
        return -1;
    }
    for (i = 0; i < EE_SYNTHETIC_MAX_INPUT; i++) {
        s->input[i] = 0;
    }
    for (i = 0; i < EE_MAX_RESULTS; i++) {
        s->acc[i] = 0;
    }
    s->macs = macs < s->outputs ? (uint32_t)s->outputs : macs;
    runner->name = "synthetic";
    runner->self_test = 1;
    runner->input_bytes = s->input_bytes;
    runner->load = syn_load;
    runner->infer = syn_infer;
    runner->results = syn_results;
    runner->ctx = s;
    runner->layers = &s->layers;
    runner->arena_used_bytes = 0; /* no tensor arena */
    runner->facts = NULL;
    ee_layers_attach(&s->layers, 0, 0); /* recording starts once the core binds the board's counter */
    return 0;
}
