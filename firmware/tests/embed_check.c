/* Prints what ee_embed_model put into the image: size, CRC-32 and alignment of ee_model_data.
 * tests/test_firmware_native.py compares them with the file, before and after changing it. */
#include <stdint.h>
#include <stdio.h>

#include "ee/frame.h"

extern const uint8_t ee_model_data[];
extern const uint32_t ee_model_data_size;

int main(void)
{
    printf("bytes %u crc32 %08x aligned16 %d\n", (unsigned)ee_model_data_size,
           (unsigned)ee_crc32(0, ee_model_data, ee_model_data_size), (int)((uintptr_t)ee_model_data % 16u == 0));
    return 0;
}
