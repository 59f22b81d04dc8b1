# QEMU mps2-an386 (Cortex-M4F). Run: qemu-system-arm -M mps2-an386 -icount shift=3 -kernel <elf> ...
set(BOARD_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(BOARD_CPU_FLAGS -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
add_compile_definitions(BOARD_UART_RX_IRQ=0)
include("${CMAKE_CURRENT_LIST_DIR}/../common/cortex-m/qemu_board.cmake")
