# Shared build of the QEMU MPS2/MPS3 ports: one ELF per MLPerf Tiny model string, since a
# flashed board reports exactly one model. Expects BOARD_DIR and BOARD_CPU_FLAGS.
set(EE_MODELS "kws01;vww01;ic01;ic02;ad01" CACHE STRING "model strings to build firmware for")
set(EE_SYNTHETIC_MACS 150000 CACHE STRING "synthetic runner work per inference (multiply-accumulates)")
option(EE_FAULT_TEST "also build <board>-fault-test.elf, whose inferences fault on request (tests only)" OFF)
set(COMMON_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(COMMON_SOURCES "${COMMON_DIR}/startup.c" "${COMMON_DIR}/cortex_m.c" "${COMMON_DIR}/cmsdk_uart.c"
    "${COMMON_DIR}/fault.c" "${COMMON_DIR}/qemu_main.c")

foreach(lib ee_core ee_synthetic)
  target_compile_options(${lib} PRIVATE ${BOARD_CPU_FLAGS} -O2 -ffunction-sections -fdata-sections)
endforeach()

# One firmware image: the shared sources for the model string `model`; the caller links a runner.
function(ee_qemu_elf target model)
  add_executable(${target} ${COMMON_SOURCES})
  target_include_directories(${target} PRIVATE "${BOARD_DIR}" "${COMMON_DIR}")
  target_compile_definitions(${target} PRIVATE EE_MODEL="${model}")
  target_compile_options(${target} PRIVATE ${BOARD_CPU_FLAGS} -O2 -Wall -Wextra -Werror -ffunction-sections)
  target_link_options(${target} PRIVATE ${BOARD_CPU_FLAGS} -nostartfiles --specs=nano.specs --specs=nosys.specs
                      -Wl,--gc-sections -T "${BOARD_DIR}/link.ld" -L "${COMMON_DIR}"
                      -Wl,-Map=${CMAKE_CURRENT_BINARY_DIR}/${target}.map) # e.g. qemu-mps2-an386-kws01.elf.map
endfunction()

foreach(model ${EE_MODELS})
  ee_qemu_elf(${EE_BOARD}-${model}.elf ${model})
  target_compile_definitions(${EE_BOARD}-${model}.elf PRIVATE EE_SYNTHETIC_MACS=${EE_SYNTHETIC_MACS}u)
  target_link_libraries(${EE_BOARD}-${model}.elf PRIVATE ee_synthetic ee_core)
endforeach()

# The kws01 image with inferences that fault on request (qemu_main.c), for tests/test_firmware_faults.py.
if(EE_FAULT_TEST)
  ee_qemu_elf(${EE_BOARD}-fault-test.elf kws01)
  target_compile_definitions(${EE_BOARD}-fault-test.elf PRIVATE EE_FAULT_TEST EE_SYNTHETIC_MACS=1000u)
  target_link_libraries(${EE_BOARD}-fault-test.elf PRIVATE ee_synthetic ee_core)
endif()

# Optional: the same boards with the TFLite Micro runner and real models (EE_TFLM_DIR, see
# firmware/runners/tflm/README.md): <board>-<model>-tflm.elf for each models/<model>.tflite.
# Their results are model results; their timings count emulated instructions, not cycles.
set(EE_TFLM_MODELS_DIR "${CMAKE_CURRENT_LIST_DIR}/../../../models" CACHE PATH "where <model>.tflite files are")
set(EE_ARENA_BYTES 300000 CACHE STRING "TFLite Micro tensor arena")
if(EE_TFLM_DIR)
  include("${CMAKE_CURRENT_LIST_DIR}/../../../firmware/runners/tflm/tflm.cmake")
  target_compile_options(ee_tflm PRIVATE ${BOARD_CPU_FLAGS} -ffunction-sections -fdata-sections)
  foreach(model ${EE_MODELS})
    if(EXISTS "${EE_TFLM_MODELS_DIR}/${model}.tflite")
      ee_embed_model(ee_model_${model} "${EE_TFLM_MODELS_DIR}/${model}.tflite")
      target_compile_options(ee_model_${model} PRIVATE ${BOARD_CPU_FLAGS})
      set(target "${EE_BOARD}-${model}-tflm.elf")
      ee_qemu_elf(${target} ${model})
      target_compile_definitions(${target} PRIVATE EE_WITH_TFLM EE_ARENA_BYTES=${EE_ARENA_BYTES})
      target_link_libraries(${target} PRIVATE ee_tflm ee_model_${model} ee_synthetic ee_core)
      set_target_properties(${target} PROPERTIES LINKER_LANGUAGE CXX)
    endif()
  endforeach()
endif()
