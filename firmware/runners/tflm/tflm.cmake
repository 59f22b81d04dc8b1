# TFLite Micro runner. Include from a board.cmake after the core targets exist:
#   include(${CMAKE_CURRENT_LIST_DIR}/../../firmware/runners/tflm/tflm.cmake)
# Needs EE_TFLM_DIR: a standalone TFLM tree made by tflite-micro's
#   python3 tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py <EE_TFLM_DIR>
# (optionally with --makefile_options="OPTIMIZED_KERNEL_DIR=cmsis_nn" for CMSIS-NN kernels:
# EE_TFLM_KERNELS picks them, see below).
# Defines target ee_tflm (runner + TFLM library), the function ee_embed_model(target file) (from
# firmware/cmake/embed_model.cmake), and, when EE_MODEL_FILE is set, ee_model_data (that model
# as a C array named ee_model_data, embedded again whenever the file changes).
if(NOT EE_TFLM_DIR)
  message(FATAL_ERROR "EE_TFLM_DIR is not set: give the path of a TFLM tree (see firmware/runners/tflm/README.md)")
endif()
if(NOT EXISTS "${EE_TFLM_DIR}/tensorflow/lite/micro/micro_interpreter.h")
  message(FATAL_ERROR "${EE_TFLM_DIR} is not a TFLM tree (no tensorflow/lite/micro/micro_interpreter.h)")
endif()
enable_language(CXX)
include("${CMAKE_CURRENT_LIST_DIR}/../../cmake/embed_model.cmake")

# Kernels: "reference" (portable C++), "cmsis_nn" (Arm's optimised kernels; needs a tree made with
# OPTIMIZED_KERNEL_DIR=cmsis_nn, whose kernels/cmsis_nn/*.cc replace the reference kernels of the
# same name), or "auto": cmsis_nn when the tree has them.
set(EE_TFLM_KERNELS "auto" CACHE STRING "TFLite Micro kernels: auto, reference or cmsis_nn")
set_property(CACHE EE_TFLM_KERNELS PROPERTY STRINGS auto reference cmsis_nn)
set(EE_TFLM_KERNEL_DIR "${EE_TFLM_DIR}/tensorflow/lite/micro/kernels")
set(EE_TFLM_KERNELS_USED "${EE_TFLM_KERNELS}")
if(EE_TFLM_KERNELS_USED STREQUAL "auto")
  set(EE_TFLM_KERNELS_USED reference)
  if(IS_DIRECTORY "${EE_TFLM_KERNEL_DIR}/cmsis_nn")
    set(EE_TFLM_KERNELS_USED cmsis_nn)
  endif()
endif()
if(NOT EE_TFLM_KERNELS_USED MATCHES "^(reference|cmsis_nn)$")
  message(FATAL_ERROR "EE_TFLM_KERNELS=${EE_TFLM_KERNELS}: choose auto, reference or cmsis_nn")
endif()
if(EE_TFLM_KERNELS_USED STREQUAL "cmsis_nn" AND NOT IS_DIRECTORY "${EE_TFLM_KERNEL_DIR}/cmsis_nn")
  message(FATAL_ERROR "EE_TFLM_KERNELS=cmsis_nn but ${EE_TFLM_DIR} has no tensorflow/lite/micro/kernels/cmsis_nn: "
                      "make the tree with --makefile_options=\"OPTIMIZED_KERNEL_DIR=cmsis_nn ...\"")
endif()

file(GLOB_RECURSE EE_TFLM_SOURCES "${EE_TFLM_DIR}/tensorflow/*.cc" "${EE_TFLM_DIR}/tensorflow/*.c"
     "${EE_TFLM_DIR}/third_party/*.c" "${EE_TFLM_DIR}/third_party/*.cc")
list(FILTER EE_TFLM_SOURCES EXCLUDE REGEX "(_test\\.cc|/examples/|/benchmarks/|/tools/)")
# TFLM's clock is the board's microsecond counter (tflm_runner.cc defines tflite::ticks_per_second and
# GetCurrentTimeTicks): the tree's micro_time.cc answers "no timer" (reference tree) or, in a tree made
# for TARGET=cortex_m_generic, reads the DWT cycle counter through a CMSIS device header that the tree
# does not carry, so it would not compile.
list(FILTER EE_TFLM_SOURCES EXCLUDE REGEX "/tensorflow/lite/micro/(cortex_m_generic/)?micro_time\\.cc$")
if(EE_TFLM_KERNELS_USED STREQUAL "cmsis_nn")
  # An optimised kernel replaces the reference one of the same name: both would define its op.
  file(GLOB EE_TFLM_CMSIS_KERNELS RELATIVE "${EE_TFLM_KERNEL_DIR}/cmsis_nn" "${EE_TFLM_KERNEL_DIR}/cmsis_nn/*.cc")
  foreach(kernel ${EE_TFLM_CMSIS_KERNELS})
    list(REMOVE_ITEM EE_TFLM_SOURCES "${EE_TFLM_KERNEL_DIR}/${kernel}")
  endforeach()
else()
  list(FILTER EE_TFLM_SOURCES EXCLUDE REGEX "(/kernels/cmsis_nn/|/third_party/cmsis_nn/)")
endif()
# The tflite-micro commit the tree was made from, announced as m-ext-[tflm-commit=...]: EE_TFLM_COMMIT
# when given, else the first word of <tree>/TFLM_COMMIT (a file create_tflm_tree.py does not write:
# write it when you make the tree, see README.md), else "unknown".
set(EE_TFLM_COMMIT "" CACHE STRING "tflite-micro commit of EE_TFLM_DIR (empty: read EE_TFLM_DIR/TFLM_COMMIT, else unknown)")
set(EE_TFLM_COMMIT_USED "${EE_TFLM_COMMIT}")
if(NOT EE_TFLM_COMMIT_USED AND EXISTS "${EE_TFLM_DIR}/TFLM_COMMIT")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${EE_TFLM_DIR}/TFLM_COMMIT")
  file(STRINGS "${EE_TFLM_DIR}/TFLM_COMMIT" EE_TFLM_COMMIT_LINES LIMIT_COUNT 1)
  string(REGEX MATCH "[^ \t]+" EE_TFLM_COMMIT_USED "${EE_TFLM_COMMIT_LINES}")
endif()
if(NOT EE_TFLM_COMMIT_USED)
  set(EE_TFLM_COMMIT_USED unknown)
endif()
if(NOT EE_TFLM_COMMIT_USED MATCHES "^[A-Za-z0-9._-]+$")
  message(FATAL_ERROR "TFLM commit '${EE_TFLM_COMMIT_USED}' (EE_TFLM_COMMIT or ${EE_TFLM_DIR}/TFLM_COMMIT): "
                      "use letters, digits, '.', '_' and '-' only")
endif()
message(STATUS "TFLite Micro: ${EE_TFLM_KERNELS_USED} kernels, commit ${EE_TFLM_COMMIT_USED}, CMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}")

add_library(ee_tflm STATIC "${CMAKE_CURRENT_LIST_DIR}/tflm_runner.cc" ${EE_TFLM_SOURCES})
target_include_directories(ee_tflm PUBLIC "${CMAKE_CURRENT_LIST_DIR}" PRIVATE "${EE_TFLM_DIR}"
  "${EE_TFLM_DIR}/third_party/flatbuffers/include" "${EE_TFLM_DIR}/third_party/gemmlowp"
  "${EE_TFLM_DIR}/third_party/ruy" "${EE_TFLM_DIR}/third_party/kissfft" "${EE_TFLM_DIR}/third_party/cmsis"
  "${EE_TFLM_DIR}/third_party/cmsis/CMSIS/Core/Include" "${EE_TFLM_DIR}/third_party/cmsis_nn"
  "${EE_TFLM_DIR}/third_party/cmsis_nn/Include")
target_link_libraries(ee_tflm PUBLIC ee_core)
target_compile_definitions(ee_tflm PRIVATE TF_LITE_STATIC_MEMORY TF_LITE_DISABLE_X86_NEON
                           $<$<STREQUAL:${EE_TFLM_KERNELS_USED},cmsis_nn>:CMSIS_NN>)
# Only the runner needs the facts: a new commit string recompiles one file, not the library.
set_source_files_properties("${CMAKE_CURRENT_LIST_DIR}/tflm_runner.cc" PROPERTIES COMPILE_DEFINITIONS
                            "EE_TFLM_COMMIT=\"${EE_TFLM_COMMIT_USED}\";EE_TFLM_KERNELS=\"${EE_TFLM_KERNELS_USED}\"")
# Optimisation of the TFLM sources: -O2 (CMake's Release would give -O3) in Release builds, which
# are the default; other build types keep their own flags unless EE_TFLM_OPT says otherwise.
# Arm builds once defaulted to -O0 over wrong outputs at -O2 in QEMU; issue 17 reports the -O2
# build bit-identical to Python TFLite Micro, and tests/test_firmware_tflm.py checks exactly that.
if(CMAKE_BUILD_TYPE STREQUAL "Release")
  set(EE_TFLM_OPT_DEFAULT "-O2")
else()
  set(EE_TFLM_OPT_DEFAULT "")
endif()
set(EE_TFLM_OPT "${EE_TFLM_OPT_DEFAULT}" CACHE STRING "optimisation flags for the TFLM sources (empty: the build type's)")
separate_arguments(EE_TFLM_OPT_LIST UNIX_COMMAND "${EE_TFLM_OPT}")
target_compile_options(ee_tflm PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-std=c++17 -fno-exceptions -fno-rtti
                       -fno-threadsafe-statics> ${EE_TFLM_OPT_LIST} -Wno-unused-parameter)

if(EE_MODEL_FILE)
  ee_embed_model(ee_model_data "${EE_MODEL_FILE}")
endif()
