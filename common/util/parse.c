/* SPDX-License-Identifier: MIT */
/* parse.c - strict parsers for sizes, numbers and HOST:PORT strings. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

int shmx__parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end || end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

int shmx__parse_i64(const char *s, int64_t *out)
{
	long long v;
	char *end;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end || end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

int shmx__parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	unsigned long long v;
	unsigned shift = 0;
	const char *u;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || !*u)
			return -EINVAL;
		shift = 10 * (unsigned)(u - units + 1);
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	} else if (end == s) {
		return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int shmx__strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (!size)
		return -ENAMETOOLONG;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int shmx__parse_host_port(const char *s, uint16_t default_port, char *host,
			  size_t hostlen, uint16_t *port)
{
	const char *h = s, *colon, *hend;
	uint64_t p = default_port;
	size_t n;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '[') {
		h = s + 1;
		hend = strchr(h, ']');
		if (!hend)
			return -EINVAL;
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (!colon && hend[1])
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		/* A bare IPv6 address has several colons and no port. */
		if (colon && strchr(s, ':') != colon)
			colon = NULL;
		hend = colon ? colon : s + strlen(s);
	}
	if (colon && shmx__parse_u64(colon + 1, &p))
		return -EINVAL;
	if (p == 0 || p > 65535)
		return -EINVAL;
	n = (size_t)(hend - h);
	if (!n)
		return -EINVAL;
	if (n >= hostlen)
		return -ENAMETOOLONG;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (uint16_t)p;
	return 0;
}
