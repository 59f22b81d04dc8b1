# Board port template: compiled when configured with -DEE_BOARD=<your-board> and the Arm toolchain
# file (firmware/cmake/arm-none-eabi.cmake). Replace CPU flags, sources and the linker script.
set(BOARD_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(CPU_FLAGS -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)   # PORT
foreach(lib ee_core ee_synthetic)
  target_compile_options(${lib} PRIVATE ${CPU_FLAGS} -O2 -ffunction-sections -fdata-sections)
endforeach()
add_executable(${EE_BOARD}.elf "${BOARD_DIR}/board.c")                        # PORT: + vendor sources
target_compile_options(${EE_BOARD}.elf PRIVATE ${CPU_FLAGS} -O2 -Wall -Wextra)
target_link_libraries(${EE_BOARD}.elf PRIVATE ee_synthetic ee_core)
target_link_options(${EE_BOARD}.elf PRIVATE ${CPU_FLAGS} --specs=nano.specs --specs=nosys.specs
                    -Wl,--gc-sections -T "${BOARD_DIR}/link.ld")                # PORT: your linker script
