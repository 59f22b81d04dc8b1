/* Per-operator timing for the `layers` extension (protocols/extensions): a fixed table of operator
 * times summed over the timed inferences of the last `infer`, and the reply lines that print it.
 *
 * A runner brackets each operator with ee_layers_begin / ee_layers_end (TFLite Micro: from its
 * MicroProfilerInterface); the core opens and closes each timed inference. Outside the timed loop
 * (warm-ups, AllocateTensors) nothing is recorded. No heap, no printf: it builds without TFLM. */
#ifndef EE_LAYERS_H
#define EE_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EE_MAX_LAYERS
#define EE_MAX_LAYERS 96u
#endif

typedef struct ee_layer {
    const char *tag; /* operator name, e.g. "CONV_2D" (a string the runner keeps alive) */
    uint32_t us;     /* summed over the timed inferences */
} ee_layer;

typedef struct ee_layers {
    ee_layer layer[EE_MAX_LAYERS];
    size_t count;        /* operators recorded (those of the longest inference, capped at EE_MAX_LAYERS) */
    size_t next;         /* index of the next operator of the current inference */
    uint32_t unrecorded; /* operators of one inference that did not fit the table */
    uint32_t iterations; /* timed inferences the sums cover */
    uint32_t start;      /* counter at the open operator's begin */
    int depth;           /* nesting of begin/end (a subgraph inside an operator counts in its operator) */
    int recording;
    uint32_t (*micros)(void *user);
    void *user;
} ee_layers;

/* Bind the board's microsecond counter; clears the table. */
void ee_layers_attach(ee_layers *l, uint32_t (*micros)(void *user), void *user);
/* Before a timed loop: clear the sums and start recording. After it: stop. */
void ee_layers_start(ee_layers *l);
void ee_layers_stop(ee_layers *l);
/* Around each timed inference. */
void ee_layers_inference_begin(ee_layers *l);
void ee_layers_inference_end(ee_layers *l);
/* Around each operator (a profiler's BeginEvent / EndEvent). */
void ee_layers_begin(ee_layers *l, const char *tag);
void ee_layers_end(ee_layers *l);

/* Reply line `n` of `layers` (no CR/LF) into out: 0 is m-layers-[iterations=N,count=M], 1..M the
 * operators, then the e- line if operators were not recorded. Returns 0 past the last line, else 1. */
int ee_layers_line(const ee_layers *l, size_t n, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
