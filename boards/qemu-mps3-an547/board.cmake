# QEMU mps3-an547 (Cortex-M55 with MVE). Run: qemu-system-arm -M mps3-an547 -icount shift=3 -kernel <elf> ...
set(BOARD_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(BOARD_CPU_FLAGS -mcpu=cortex-m55 -mthumb -mfloat-abi=hard)
add_compile_definitions(BOARD_UART_RX_IRQ=33)
include("${CMAKE_CURRENT_LIST_DIR}/../common/cortex-m/qemu_board.cmake")
