/* SPDX-License-Identifier: MIT */
/*
 * fuzz_decode.c - libFuzzer target over shmnode's message decoder.  Any
 * input must decode without a crash or sanitizer report; whatever decodes
 * must re-encode to the same bytes and decode to the same message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct shmx_msg a, b;
	static uint8_t buf[SHMX_WIRE_MAX];
	int len;

	if (shmx__proto_decode(data, size, &a) != SHMX_ST_OK)
		return 0;
	len = shmx__proto_encode(&a, buf, sizeof(buf));
	if (len < 0 || (size_t)len != size || memcmp(buf, data, size))
		abort();
	if (shmx__proto_decode(buf, (size_t)len, &b) != SHMX_ST_OK ||
	    memcmp(&a, &b, sizeof(a)))
		abort();
	return 0;
}
