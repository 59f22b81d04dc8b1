# TFLite Micro runner. Include from a board.cmake after the core targets exist:
#   include(${CMAKE_CURRENT_LIST_DIR}/../../firmware/runners/tflm/tflm.cmake)
# Needs EE_TFLM_DIR: a standalone TFLM tree made by tflite-micro's
#   python3 tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py <EE_TFLM_DIR>
# (optionally with --makefile_options="OPTIMIZED_KERNEL_DIR=cmsis_nn" for CMSIS-NN kernels).
# Defines target ee_tflm (runner + TFLM library), the function ee_embed_model(target file), and,
# when EE_MODEL_FILE is set, ee_model_data (that model as a C array named ee_model_data).
if(NOT EE_TFLM_DIR)
  message(FATAL_ERROR "EE_TFLM_DIR is not set: give the path of a TFLM tree (see firmware/runners/tflm/README.md)")
endif()
if(NOT EXISTS "${EE_TFLM_DIR}/tensorflow/lite/micro/micro_interpreter.h")
  message(FATAL_ERROR "${EE_TFLM_DIR} is not a TFLM tree (no tensorflow/lite/micro/micro_interpreter.h)")
endif()
enable_language(CXX)
file(GLOB_RECURSE EE_TFLM_SOURCES "${EE_TFLM_DIR}/tensorflow/*.cc" "${EE_TFLM_DIR}/tensorflow/*.c"
     "${EE_TFLM_DIR}/third_party/*.c" "${EE_TFLM_DIR}/third_party/*.cc")
list(FILTER EE_TFLM_SOURCES EXCLUDE REGEX "(_test\\.cc|/examples/|/benchmarks/|/tools/)")
add_library(ee_tflm STATIC "${CMAKE_CURRENT_LIST_DIR}/tflm_runner.cc" ${EE_TFLM_SOURCES})
target_include_directories(ee_tflm PUBLIC "${CMAKE_CURRENT_LIST_DIR}" PRIVATE "${EE_TFLM_DIR}"
  "${EE_TFLM_DIR}/third_party/flatbuffers/include" "${EE_TFLM_DIR}/third_party/gemmlowp"
  "${EE_TFLM_DIR}/third_party/ruy" "${EE_TFLM_DIR}/third_party/kissfft" "${EE_TFLM_DIR}/third_party/cmsis"
  "${EE_TFLM_DIR}/third_party/cmsis/CMSIS/Core/Include" "${EE_TFLM_DIR}/third_party/cmsis_nn"
  "${EE_TFLM_DIR}/third_party/cmsis_nn/Include")
target_link_libraries(ee_tflm PUBLIC ee_core)
target_compile_definitions(ee_tflm PRIVATE TF_LITE_STATIC_MEMORY TF_LITE_DISABLE_X86_NEON)
# Optimisation of the TFLM sources. With Debian's arm-none-eabi-gcc 12, -O2 gave wrong outputs in
# QEMU (host builds at -O2 and Arm builds at -O0 match Python TFLite Micro exactly): see README.
if(CMAKE_SYSTEM_PROCESSOR STREQUAL "arm")
  set(EE_TFLM_OPT "-O0" CACHE STRING "optimisation flags for the TFLM sources")
else()
  set(EE_TFLM_OPT "-O2" CACHE STRING "optimisation flags for the TFLM sources")
endif()
separate_arguments(EE_TFLM_OPT_LIST UNIX_COMMAND "${EE_TFLM_OPT}")
target_compile_options(ee_tflm PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-std=c++17 -fno-exceptions -fno-rtti
                       -fno-threadsafe-statics> ${EE_TFLM_OPT_LIST} -Wno-unused-parameter)

# A .tflite embedded as const data in library <target> (symbol ee_model_data); file(READ HEX)
# needs no xxd on the build machine.
function(ee_embed_model target file)
  file(READ "${file}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/${target}.c"
       "#include <stdint.h>\n__attribute__((aligned(16))) const uint8_t ee_model_data[] = {${bytes}};\n")
  add_library(${target} STATIC "${CMAKE_CURRENT_BINARY_DIR}/${target}.c")
endfunction()
if(EE_MODEL_FILE)
  ee_embed_model(ee_model_data "${EE_MODEL_FILE}")
endif()
