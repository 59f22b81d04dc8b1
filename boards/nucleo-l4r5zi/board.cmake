# NUCLEO-L4R5ZI with STM32Cube HAL. Needs STM32CUBE_L4_DIR: an STM32CubeL4 package (from ST, or
# github.com/STMicroelectronics/STM32CubeL4 with its submodules) holding Drivers/CMSIS and
# Drivers/STM32L4xx_HAL_Driver. Options: EE_MODEL (kws01|vww01|ic01|ic02|ad01), EE_ENERGY_MODE (0|1),
# EE_TFLM_DIR + EE_MODEL_FILE + EE_ARENA_BYTES for a TFLite Micro build (else synthetic self-test).
set(BOARD_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(STM32CUBE_L4_DIR "" CACHE PATH "STM32CubeL4 package root")
set(EE_MODEL "kws01" CACHE STRING "model string the firmware reports")
set(EE_ENERGY_MODE 0 CACHE STRING "1: energy-mode build (timestamps on PF13, no m-lap-us)")
set(EE_ARENA_BYTES 100000 CACHE STRING "TFLite Micro tensor arena")
if(NOT EXISTS "${STM32CUBE_L4_DIR}/Drivers/STM32L4xx_HAL_Driver/Inc/stm32l4xx_hal.h")
  message(FATAL_ERROR "set STM32CUBE_L4_DIR to an STM32CubeL4 package (see boards/nucleo-l4r5zi/README.md)")
endif()
enable_language(ASM)
set(CUBE_HAL "${STM32CUBE_L4_DIR}/Drivers/STM32L4xx_HAL_Driver")
set(CUBE_CMSIS "${STM32CUBE_L4_DIR}/Drivers/CMSIS")
set(CPU_FLAGS -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)

# The HAL configuration: ST's template enables every module, which is simplest and costs only flash.
configure_file("${CUBE_HAL}/Inc/stm32l4xx_hal_conf_template.h" "${CMAKE_CURRENT_BINARY_DIR}/cube/stm32l4xx_hal_conf.h"
               COPYONLY)
file(GLOB CUBE_HAL_SOURCES "${CUBE_HAL}/Src/*.c")
list(FILTER CUBE_HAL_SOURCES EXCLUDE REGEX "_template\\.c$")
add_library(stm32cube STATIC ${CUBE_HAL_SOURCES}
            "${CUBE_CMSIS}/Device/ST/STM32L4xx/Source/Templates/system_stm32l4xx.c"
            "${CUBE_CMSIS}/Device/ST/STM32L4xx/Source/Templates/gcc/startup_stm32l4r5xx.s")
target_include_directories(stm32cube PUBLIC "${CMAKE_CURRENT_BINARY_DIR}/cube" "${CUBE_HAL}/Inc"
                           "${CUBE_CMSIS}/Device/ST/STM32L4xx/Include" "${CUBE_CMSIS}/Include")
target_compile_definitions(stm32cube PUBLIC STM32L4R5xx USE_HAL_DRIVER)
target_compile_options(stm32cube PRIVATE ${CPU_FLAGS} -O2 -ffunction-sections -fdata-sections)
foreach(lib ee_core ee_synthetic)
  target_compile_options(${lib} PRIVATE ${CPU_FLAGS} -O2 -ffunction-sections -fdata-sections)
endforeach()

set(COMMON_DIR "${BOARD_DIR}/../common/cortex-m")
add_executable(nucleo-l4r5zi.elf "${BOARD_DIR}/main.c" "${COMMON_DIR}/fault.c") # fault report on the UART
target_include_directories(nucleo-l4r5zi.elf PRIVATE "${COMMON_DIR}")
target_compile_definitions(nucleo-l4r5zi.elf PRIVATE EE_MODEL="${EE_MODEL}" EE_ENERGY_MODE=${EE_ENERGY_MODE})
target_compile_options(nucleo-l4r5zi.elf PRIVATE ${CPU_FLAGS} -O2 -Wall -Wextra)
target_link_libraries(nucleo-l4r5zi.elf PRIVATE stm32cube ee_synthetic ee_core)
if(EE_TFLM_DIR)
  if(NOT EE_MODEL_FILE)
    message(FATAL_ERROR "a TFLite Micro build needs EE_MODEL_FILE: the .tflite to flash")
  endif()
  include("${CMAKE_CURRENT_LIST_DIR}/../../firmware/runners/tflm/tflm.cmake")
  target_compile_options(ee_tflm PRIVATE ${CPU_FLAGS})
  target_compile_options(ee_model_data PRIVATE ${CPU_FLAGS})
  target_compile_definitions(nucleo-l4r5zi.elf PRIVATE EE_WITH_TFLM EE_ARENA_BYTES=${EE_ARENA_BYTES})
  target_link_libraries(nucleo-l4r5zi.elf PRIVATE ee_tflm ee_model_data)
endif()
target_link_options(nucleo-l4r5zi.elf PRIVATE ${CPU_FLAGS} --specs=nano.specs --specs=nosys.specs
                    -Wl,--gc-sections -T "${BOARD_DIR}/STM32L4R5ZI.ld" -Wl,-Map=${CMAKE_CURRENT_BINARY_DIR}/nucleo-l4r5zi.map)
add_custom_command(TARGET nucleo-l4r5zi.elf POST_BUILD
                   COMMAND arm-none-eabi-objcopy -O binary nucleo-l4r5zi.elf nucleo-l4r5zi.bin
                   COMMENT "nucleo-l4r5zi.bin: copy it to the NOD_L4R5ZI USB drive, or st-flash write it to 0x08000000")
