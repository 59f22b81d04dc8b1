/* Model-runner interface: what the protocol core calls to turn the db buffer into results. */
#ifndef EE_RUNNER_H
#define EE_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "ee/layers.h"

#define EE_MAX_RESULTS 32u

typedef struct ee_runner {
    /* Short identifier, printed in the profile reply as m-runner-[<name>]. */
    const char *name;
    /* Non-zero when results are a harness self-test (no model ran), never a model result. */
    int self_test;
    /* Bytes the input conversion expects (490 for kws01, 27648 for vww01, ...). */
    size_t input_bytes;
    /* th_load_tensor: convert len bytes of the db buffer into the input; 0 on success. */
    int (*load)(void *ctx, const uint8_t *data, size_t len);
    /* th_infer: one inference; 0 on success. */
    int (*infer)(void *ctx);
    /* th_results: write at most cap values (already dequantized / reduced), return the count. */
    size_t (*results)(void *ctx, float *out, size_t cap);
    void *ctx;
    /* The runner's per-operator timing table (the `layers` extension), or NULL when it times no operators.
     * The core binds it to the board's counter and opens each timed inference. */
    ee_layers *layers;
    /* Tensor arena the model needs (TFLM's arena_used_bytes()), announced in `profile`; 0 when there is none. */
    size_t arena_used_bytes;
    /* Build facts of the runner (e.g. "tflm-commit=<sha>"), each announced in `profile` as m-ext-[<fact>];
     * a NULL-terminated list, or NULL when there are none. */
    const char *const *facts;
} ee_runner;

#endif
