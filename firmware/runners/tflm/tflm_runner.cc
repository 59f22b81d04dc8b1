// TensorFlow Lite Micro runner (see tflm_runner.h). Input conversion and result reduction follow
// the MLPerf Tiny reference ports: kws01 copies int8 MFCCs, vww01/ic01 subtract 128 from uint8
// pixels, ad01 quantizes float32 log-mels with the input scale/zero point and reports the MSE of
// the dequantized reconstruction.
#include "tflm_runner.h"

#include <cmath>
#include <cstring>
#include <new>

#include "ee/layers.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/micro/micro_time.h"
#include "tensorflow/lite/schema/schema_generated.h"

// Build facts announced in `profile` (tflm.cmake passes both: the tree's commit, or "unknown", and
// the kernels it compiled).
#ifndef EE_TFLM_COMMIT
#define EE_TFLM_COMMIT "unknown"
#endif
#ifndef EE_TFLM_KERNELS
#define EE_TFLM_KERNELS "unknown"
#endif

namespace {

// The layer table whose counter TFLM's clock reads (bound to the board's by the core in ee_init).
const ee_layers* g_clock = nullptr;

}  // namespace

// TFLM's clock (micro_time.h) for any TFLM code that times itself: the board's microsecond counter,
// the one m-lap-us and the layer table read. tflm.cmake leaves the tree's own micro_time.cc out.
namespace tflite {

uint32_t ticks_per_second() { return g_clock != nullptr && g_clock->micros != nullptr ? 1000000u : 0u; }

uint32_t GetCurrentTimeTicks() {
  return g_clock != nullptr && g_clock->micros != nullptr ? g_clock->micros(g_clock->user) : 0u;
}

}  // namespace tflite

namespace {

const char* const kFacts[] = {"tflm-commit=" EE_TFLM_COMMIT, "tflm-kernels=" EE_TFLM_KERNELS, nullptr};

enum class Profile { kKws, kVww, kIc, kAd };

// The bundled models/*.tflite use CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE_POOL_2D, SOFTMAX
// and ADD; the others cover common variants of the official models.
using Resolver = tflite::MicroMutableOpResolver<12>;

// TFLM calls BeginEvent/EndEvent around every operator it invokes (its tag is the operator's name,
// e.g. "CONV_2D"); both go to the core's layer table, which reads the board's counter only while a
// timed loop runs, so warm-ups and AllocateTensors cost nothing.
class LayerProfiler : public tflite::MicroProfilerInterface {
 public:
  explicit LayerProfiler(ee_layers* layers) : layers_(layers) {}
  uint32_t BeginEvent(const char* tag) override {
    ee_layers_begin(layers_, tag);
    return 0;
  }
  void EndEvent(uint32_t) override { ee_layers_end(layers_); }

 private:
  ee_layers* layers_;
};

struct State {
  ee_layers layers;
  alignas(LayerProfiler) unsigned char profiler_storage[sizeof(LayerProfiler)];
  alignas(Resolver) unsigned char resolver_storage[sizeof(Resolver)];
  alignas(tflite::MicroInterpreter) unsigned char interpreter_storage[sizeof(tflite::MicroInterpreter)];
  tflite::MicroInterpreter* interpreter = nullptr;
  Profile profile = Profile::kKws;
  float ad_input[640] = {};
};

State g_state;

bool Matches(const char* a, const char* b) { return std::strcmp(a, b) == 0; }

int Load(void* ctx, const uint8_t* data, size_t len) {
  State* s = static_cast<State*>(ctx);
  TfLiteTensor* input = s->interpreter->input(0);
  const size_t elements = input->bytes;
  switch (s->profile) {
    case Profile::kKws:
      if (len != elements) return -1;
      std::memcpy(input->data.int8, data, len);
      return 0;
    case Profile::kVww:
    case Profile::kIc:
      if (len != elements) return -1;
      for (size_t i = 0; i < len; ++i) input->data.int8[i] = static_cast<int8_t>(static_cast<int>(data[i]) - 128);
      return 0;
    case Profile::kAd: {
      if (len != 640 * sizeof(float) || elements != 640) return -1;
      const float scale = input->params.scale;
      const int zero_point = input->params.zero_point;
      for (size_t i = 0; i < 640; ++i) {
        float v;
        std::memcpy(&v, data + 4 * i, sizeof v);  // little-endian float32, unaligned-safe
        s->ad_input[i] = v;
        long q = std::lround(v / scale) + zero_point;
        input->data.int8[i] = static_cast<int8_t>(q < -128 ? -128 : q > 127 ? 127 : q);
      }
      return 0;
    }
  }
  return -1;
}

int Infer(void* ctx) {
  State* s = static_cast<State*>(ctx);
  return s->interpreter->Invoke() == kTfLiteOk ? 0 : -1;
}

size_t Results(void* ctx, float* out, size_t cap) {
  State* s = static_cast<State*>(ctx);
  const TfLiteTensor* output = s->interpreter->output(0);
  const float scale = output->params.scale;
  const int zero_point = output->params.zero_point;
  const size_t n = output->bytes;
  if (s->profile == Profile::kAd) {
    if (cap < 1 || n != 640) return 0;
    float sum = 0.0f;
    for (size_t i = 0; i < n; ++i) {
      const float diff = (output->data.int8[i] - zero_point) * scale - s->ad_input[i];
      sum += diff * diff;
    }
    out[0] = sum / 640.0f;
    return 1;
  }
  const size_t count = n < cap ? n : cap;
  for (size_t i = 0; i < count; ++i) out[i] = (output->data.int8[i] - zero_point) * scale;
  return count;
}

}  // namespace

extern "C" int ee_tflm_init(ee_runner* runner, const uint8_t* model, const char* profile, uint8_t* arena,
                            size_t arena_size) {
  State* s = &g_state;
  if (Matches(profile, "kws01")) {
    s->profile = Profile::kKws;
  } else if (Matches(profile, "vww01")) {
    s->profile = Profile::kVww;
  } else if (Matches(profile, "ic01") || Matches(profile, "ic02")) {
    s->profile = Profile::kIc;
  } else if (Matches(profile, "ad01")) {
    s->profile = Profile::kAd;
  } else {
    return -1;
  }
  const tflite::Model* flatbuffer = tflite::GetModel(model);
  if (flatbuffer->version() != TFLITE_SCHEMA_VERSION) return -1;
  Resolver* resolver = new (s->resolver_storage) Resolver();
  resolver->AddConv2D();
  resolver->AddDepthwiseConv2D();
  resolver->AddFullyConnected();
  resolver->AddAveragePool2D();
  resolver->AddMaxPool2D();
  resolver->AddReshape();
  resolver->AddSoftmax();
  resolver->AddAdd();
  resolver->AddMul();
  resolver->AddQuantize();
  resolver->AddDequantize();
  resolver->AddMean();
  ee_layers_attach(&s->layers, nullptr, nullptr);  // the core binds the board's counter in ee_init
  g_clock = &s->layers;
  LayerProfiler* profiler = new (s->profiler_storage) LayerProfiler(&s->layers);
  s->interpreter = new (s->interpreter_storage)
      tflite::MicroInterpreter(flatbuffer, *resolver, arena, arena_size, /*resource_variables=*/nullptr, profiler);
  if (s->interpreter->AllocateTensors() != kTfLiteOk) return -1;
  if (s->interpreter->input(0)->type != kTfLiteInt8 || s->interpreter->output(0)->type != kTfLiteInt8) return -1;
  runner->name = "tflite-micro";
  runner->self_test = 0;
  runner->input_bytes = s->profile == Profile::kAd ? 640 * sizeof(float) : s->interpreter->input(0)->bytes;
  runner->load = Load;
  runner->infer = Infer;
  runner->results = Results;
  runner->ctx = s;
  runner->layers = &s->layers;
  runner->arena_used_bytes = s->interpreter->arena_used_bytes();
  runner->facts = kFacts;
  return 0;
}
