/* SPDX-License-Identifier: MIT */
/*
 * le.h - little-endian integers in byte buffers, byte by byte, so that a
 * layout never depends on the host (header.c, lockword.c, peer.c).
 */
#ifndef SHMX_PROTO_LE_H
#define SHMX_PROTO_LE_H

#include <stddef.h>
#include <stdint.h>

/* Store the low @n bytes of @v at @p. */
static inline void shmx__put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Load @n bytes at @p. */
static inline uint64_t shmx__get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

#endif /* SHMX_PROTO_LE_H */
