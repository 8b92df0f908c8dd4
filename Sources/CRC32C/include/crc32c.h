#ifndef SLUICE_CRC32C_H
#define SLUICE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `crc` (0 to start), using the
/// SSE4.2 crc32 instruction when the CPU has it.
uint32_t sluice_crc32c_hardware(uint32_t crc, const void *data, size_t length);

/// Whether this CPU runs `sluice_crc32c_hardware` (x86-64 with SSE4.2).
int sluice_crc32c_hardware_available(void);

#endif
