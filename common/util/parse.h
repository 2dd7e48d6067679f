/* SPDX-License-Identifier: MIT */
/* parse.h - strict parsers for sizes, numbers and HOST:PORT strings. */
#ifndef SHMX_PARSE_H
#define SHMX_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * "4096", "64K", "256M", "2G", "1T" (binary multiples, optional trailing
 * "iB"/"B") -> bytes.  Returns 0, -EINVAL (syntax) or -ERANGE (overflow).
 */
int shmx__parse_size(const char *s, uint64_t *out);
/* Decimal or 0x-hex unsigned 64-bit number, the whole string. */
int shmx__parse_u64(const char *s, uint64_t *out);
/* Signed 64-bit number, decimal or 0x-hex, the whole string. */
int shmx__parse_i64(const char *s, int64_t *out);
/*
 * "HOST:PORT", "[V6ADDR]:PORT" or "HOST" (port = @default_port) -> parts.
 * Returns 0, -EINVAL (syntax, empty host, port 0 or > 65535) or
 * -ENAMETOOLONG (host does not fit).
 */
int shmx__parse_host_port(const char *s, uint16_t default_port, char *host,
			  size_t hostlen, uint16_t *port);
/* Copy a string with truncation check: 0 or -ENAMETOOLONG. */
int shmx__strlcpy(char *dst, const char *src, size_t size);

#endif /* SHMX_PARSE_H */
