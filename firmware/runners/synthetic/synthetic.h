/* Synthetic compute runner: a HARNESS SELF-TEST for boards and emulators without a model
 * runtime. It runs a fixed amount of int8 multiply-accumulate work on the uploaded input and
 * reports deterministic pseudo-scores. Its numbers measure the harness and the core, never a
 * model: the profile reply says m-runner-[synthetic,self-test] and hosts label it so. */
#ifndef EE_SYNTHETIC_H
#define EE_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#include "ee/runner.h"

#define EE_SYNTHETIC_MAX_INPUT 27648u

typedef struct ee_synthetic {
    int8_t input[EE_SYNTHETIC_MAX_INPUT];
    size_t input_bytes;
    size_t outputs;
    uint32_t macs;          /* multiply-accumulates per inference */
    int u8_to_i8;           /* vww01/ic01 ports subtract 128 from uint8 pixels */
    int32_t acc[EE_MAX_RESULTS];
    /* Each output's MAC loop is timed as one operator (SYNTHETIC_MAC), so `layers` works on every board. */
    ee_layers layers;
} ee_synthetic;

/* Configure for an MLPerf Tiny model string (input size, output count, conversion) and
 * a workload of macs multiply-accumulates per inference; returns -1 for an unknown model. */
int ee_synthetic_init(ee_synthetic *s, ee_runner *runner, const char *model, uint32_t macs);

#endif
