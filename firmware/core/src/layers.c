/* Per-operator timing table and its reply lines (see ee/layers.h). */
#include "ee/layers.h"

#include "ee/fmt.h"

void ee_layers_attach(ee_layers *l, uint32_t (*micros)(void *user), void *user)
{
    l->micros = micros;
    l->user = user;
    l->recording = 0;
    l->iterations = 0;
    l->count = 0;
    l->unrecorded = 0;
}

void ee_layers_start(ee_layers *l)
{
    size_t i;
    for (i = 0; i < EE_MAX_LAYERS; i++) {
        l->layer[i].tag = "";
        l->layer[i].us = 0;
    }
    l->count = 0;
    l->unrecorded = 0;
    l->iterations = 0;
    l->recording = l->micros != NULL;
}

void ee_layers_stop(ee_layers *l)
{
    l->recording = 0;
}

void ee_layers_inference_begin(ee_layers *l)
{
    l->next = 0;
    l->depth = 0;
}

void ee_layers_inference_end(ee_layers *l)
{
    if (l->recording) {
        l->iterations++;
    }
}

void ee_layers_begin(ee_layers *l, const char *tag)
{
    if (!l->recording || l->depth++ > 0) {
        return;
    }
    if (l->next < EE_MAX_LAYERS) {
        l->layer[l->next].tag = tag ? tag : "";
    }
    l->start = l->micros(l->user);
}

void ee_layers_end(ee_layers *l)
{
    uint32_t elapsed;
    if (!l->recording || l->depth == 0 || --l->depth > 0) {
        return;
    }
    elapsed = l->micros(l->user) - l->start; /* wraps like m-lap-us */
    if (l->next < EE_MAX_LAYERS) {
        l->layer[l->next].us += elapsed;
        if (l->next + 1 > l->count) {
            l->count = l->next + 1;
        }
    } else if (l->next + 1 - EE_MAX_LAYERS > l->unrecorded) {
        l->unrecorded = (uint32_t)(l->next + 1 - EE_MAX_LAYERS);
    }
    l->next++;
}

/* An operator tag as the protocol allows it: letters, digits and '_' (anything else becomes '_'). */
static void put_tag(ee_buf *b, const char *tag)
{
    if (!*tag) {
        ee_buf_str(b, "UNKNOWN");
        return;
    }
    for (; *tag; tag++) {
        char c = *tag;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        ee_buf_char(b, ok ? c : '_');
    }
}

int ee_layers_line(const ee_layers *l, size_t n, char *out, size_t cap)
{
    ee_buf b;
    size_t count = l->iterations ? l->count : 0;
    ee_buf_init(&b, out, cap);
    if (n == 0) {
        ee_buf_str(&b, "m-layers-[iterations=");
        ee_buf_u32(&b, l->iterations);
        ee_buf_str(&b, ",count=");
        ee_buf_u32(&b, (uint32_t)count);
        ee_buf_char(&b, ']');
    } else if (n <= count) {
        ee_buf_str(&b, "m-layer-[");
        ee_buf_u32(&b, (uint32_t)(n - 1));
        ee_buf_char(&b, ',');
        put_tag(&b, l->layer[n - 1].tag);
        ee_buf_char(&b, ',');
        ee_buf_u32(&b, l->layer[n - 1].us);
        ee_buf_char(&b, ']');
    } else if (n == count + 1 && l->iterations && l->unrecorded) {
        ee_buf_str(&b, "e-[Layer table full: ");
        ee_buf_u32(&b, l->unrecorded);
        ee_buf_str(&b, " operators not recorded]");
    } else {
        return 0;
    }
    return 1;
}
