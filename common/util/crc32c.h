/* SPDX-License-Identifier: MIT */
/*
 * crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of the shared header area's blocks (proto/header.h).
 */
#ifndef SHMX_CRC32C_H
#define SHMX_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * shmx__crc32c - extend the CRC-32C @crc over @len bytes at @buf and return
 * the new value.  Start with @crc = 0; the result of one call continues in
 * the next, so shmx__crc32c(shmx__crc32c(0, a, n), b, m) is the CRC of a
 * followed by b.  @buf may be NULL when @len is 0.  Pure and thread-safe.
 * Check value: shmx__crc32c(0, "123456789", 9) == 0xE3069283.
 */
uint32_t shmx__crc32c(uint32_t crc, const void *buf, size_t len);

#endif /* SHMX_CRC32C_H */
