/* TensorFlow Lite Micro runner for real boards: the MLPerf Tiny reference ports' th_load_tensor /
 * th_infer / th_results behind the ee_runner interface. Built only when a TFLM source tree is
 * supplied (see firmware/runners/tflm/README.md); it has no heap: the arena belongs to the board. */
#ifndef EE_TFLM_RUNNER_H
#define EE_TFLM_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "ee/runner.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Prepare the interpreter for a .tflite flatbuffer and an MLPerf Tiny model string
 * (kws01, vww01, ic01, ic02, ad01); 0 on success, -1 when the model does not fit the profile or the
 * arena is too small. */
int ee_tflm_init(ee_runner *runner, const uint8_t *model, const char *profile, uint8_t *arena, size_t arena_size);

#ifdef __cplusplus
}
#endif

#endif
