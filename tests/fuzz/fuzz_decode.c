/* SPDX-License-Identifier: MIT */
/*
 * fuzz_decode.c - libFuzzer target over the message decoders: shmnode's
 * (control messages) and the mailboxes' (peer messages).  Any input must
 * decode without a crash or sanitizer report; whatever decodes must
 * re-encode to the same bytes and decode to the same message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/peer.h"
#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same for a peer message (proto/peer.h). */
static void peer_one(const uint8_t *data, size_t size)
{
	static uint8_t buf[SHMX_PEER_MSG_MAX];
	struct shmx_peer_msg a, b;
	int len;

	if (shmx__peer_decode(data, size, &a))
		return;
	len = shmx__peer_encode(&a, buf, sizeof(buf));
	if (len < 0 || (size_t)len != size || memcmp(buf, data, size))
		abort();
	if (shmx__peer_decode(buf, (size_t)len, &b) || a.type != b.type ||
	    a.seq != b.seq || a.src_tag != b.src_tag)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct shmx_msg a, b;
	static uint8_t buf[SHMX_WIRE_MAX];
	int len;

	peer_one(data, size);
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
