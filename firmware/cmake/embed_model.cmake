# A file (a .tflite model) embedded as const data: ee_embed_model(<library> <file>) makes a static
# library defining
#   const uint8_t ee_model_data[];   16-byte aligned, as TFLite Micro wants its flatbuffer
#   const uint32_t ee_model_data_size;
# The C file is generated at build time by this same file in script mode, with the model as a
# dependency: a rebuilt model is embedded again by the next `cmake --build`, with no reconfigure
# (reading it at configure time left a reused build directory with the old model). file(READ HEX)
# needs no xxd on the build machine.
if(CMAKE_SCRIPT_MODE_FILE)
  # cmake -DIN=<file> -DOUT=<file.c> -P embed_model.cmake
  file(READ "${IN}" hex HEX)
  file(SIZE "${IN}" size)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  file(WRITE "${OUT}.tmp" "#include <stdint.h>\n"
       "__attribute__((aligned(16))) const uint8_t ee_model_data[] = {${bytes}};\n"
       "const uint32_t ee_model_data_size = ${size}u;\n")
  file(RENAME "${OUT}.tmp" "${OUT}") # never a half-written source if the build is interrupted
  return()
endif()

set(EE_EMBED_SCRIPT "${CMAKE_CURRENT_LIST_FILE}")

function(ee_embed_model target file)
  get_filename_component(file "${file}" ABSOLUTE)
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "ee_embed_model: no such file ${file}")
  endif()
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${target}.c")
  add_custom_command(OUTPUT "${out}"
                     COMMAND "${CMAKE_COMMAND}" "-DIN=${file}" "-DOUT=${out}" -P "${EE_EMBED_SCRIPT}"
                     DEPENDS "${file}" "${EE_EMBED_SCRIPT}"
                     COMMENT "Embedding ${file}" VERBATIM)
  add_library(${target} STATIC "${out}")
endfunction()
