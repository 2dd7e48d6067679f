/* SPDX-License-Identifier: MIT */
/*
 * test_peer.c - the messages between members' mailboxes (proto/peer.h):
 * round trips of every type, the layout pinned byte by byte, and every
 * malformed or out-of-range field rejected by encode and decode alike,
 * plus every truncation and a byte flip at every offset.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/le.h"
#include "proto/peer.h"

static uint8_t buf[SHMX_PEER_MSG_MAX + 16];
static uint8_t payload[SHMX_PEER_INLINE_MAX];

static struct shmx_peer_msg base(uint16_t type)
{
	struct shmx_peer_msg m = { .type = type };

	m.src = 3;
	m.dst = 7;
	m.src_tag = 0x1111222233334444ull;
	m.dst_tag = 0x5555666677778888ull;
	m.seq = type == SHMX_PEER_CREDIT || type == SHMX_PEER_CREDIT_ASK ? 0
									 : 42;
	return m;
}

static void round_trip(const struct shmx_peer_msg *m, size_t want_len)
{
	struct shmx_peer_msg got;
	int len = shmx__peer_encode(m, buf, sizeof(buf));

	assert_int_equal(len, (int)want_len);
	assert_int_equal(shmx__peer_decode(buf, (size_t)len, &got), 0);
	assert_int_equal(got.type, m->type);
	assert_int_equal(got.src, m->src);
	assert_int_equal(got.dst, m->dst);
	assert_int_equal(got.src_tag, m->src_tag);
	assert_int_equal(got.dst_tag, m->dst_tag);
	assert_int_equal(got.seq, m->seq);
	switch (m->type) {
	case SHMX_PEER_SIGNAL:
		assert_int_equal(got.u.signal.signo, m->u.signal.signo);
		assert_int_equal(got.u.signal.value, m->u.signal.value);
		break;
	case SHMX_PEER_MSG:
		assert_int_equal(got.u.msg.len, m->u.msg.len);
		if (m->u.msg.len)
			assert_memory_equal(got.u.msg.data, m->u.msg.data,
					    m->u.msg.len);
		else
			assert_null(got.u.msg.data);
		break;
	case SHMX_PEER_MSG_REF:
		assert_int_equal(got.u.ref.gaddr, m->u.ref.gaddr);
		assert_int_equal(got.u.ref.len, m->u.ref.len);
		assert_int_equal(got.u.ref.kind, m->u.ref.kind);
		break;
	case SHMX_PEER_CREDIT:
		assert_int_equal(got.u.credit.taken, m->u.credit.taken);
		break;
	}
}

static void test_round_trips(void **state)
{
	struct shmx_peer_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	m = base(SHMX_PEER_SIGNAL);
	m.u.signal.signo = SHMX_SIGNO_MAX;
	m.u.signal.value = UINT64_MAX;
	round_trip(&m, SHMX_PEER_HDR_LEN + 16);
	m = base(SHMX_PEER_MSG);
	round_trip(&m, SHMX_PEER_HDR_LEN);
	for (size_t len = 1; len <= SHMX_PEER_INLINE_MAX; len += 509) {
		m.u.msg.data = payload;
		m.u.msg.len = len;
		round_trip(&m, SHMX_PEER_HDR_LEN + len);
	}
	m.u.msg.len = SHMX_PEER_INLINE_MAX;
	round_trip(&m, SHMX_PEER_MSG_MAX);
	m = base(SHMX_PEER_MSG_REF);
	m.u.ref.gaddr = 0x10000;
	m.u.ref.len = SHMX_MSG_MAX;
	for (uint32_t k = SHMX_PEER_REF_COPY; k <= SHMX_PEER_REF_MOVE; k++) {
		m.u.ref.kind = k;
		round_trip(&m, SHMX_PEER_HDR_LEN + 24);
	}
	m = base(SHMX_PEER_CREDIT);
	m.u.credit.taken = 123456789;
	round_trip(&m, SHMX_PEER_HDR_LEN + 8);
	m = base(SHMX_PEER_CREDIT_ASK);
	round_trip(&m, SHMX_PEER_HDR_LEN);
}

static void test_layout_is_pinned(void **state)
{
	struct shmx_peer_msg m = base(SHMX_PEER_SIGNAL);

	(void)state;
	m.u.signal.signo = 0x0a0b;
	m.u.signal.value = 0x0102030405060708ull;
	assert_int_equal(shmx__peer_encode(&m, buf, sizeof(buf)), 64);
	assert_memory_equal(buf, "SHMP", 4);
	assert_int_equal(shmx__get_le(buf + 4, 2), SHMX_PEER_VERSION);
	assert_int_equal(shmx__get_le(buf + 6, 2), SHMX_PEER_SIGNAL);
	assert_int_equal(shmx__get_le(buf + 8, 4), 64);
	assert_int_equal(shmx__get_le(buf + 12, 4), 3);
	assert_int_equal(shmx__get_le(buf + 16, 4), 7);
	assert_int_equal(shmx__get_le(buf + 20, 4), 0);
	assert_int_equal(shmx__get_le(buf + 24, 8), m.src_tag);
	assert_int_equal(shmx__get_le(buf + 32, 8), m.dst_tag);
	assert_int_equal(shmx__get_le(buf + 40, 8), 42);
	assert_int_equal(shmx__get_le(buf + 48, 4), 0x0a0b);
	assert_int_equal(shmx__get_le(buf + 52, 4), 0);
	assert_int_equal(buf[56], 0x08);
	assert_int_equal(shmx__get_le(buf + 56, 8), m.u.signal.value);
}

/* @m is refused by encode (-EINVAL); encoded from a good one and patched
 * at @off to @v (@n bytes), it is refused by decode. */
static void expect_bad(const struct shmx_peer_msg *m,
		       const struct shmx_peer_msg *good, size_t off, uint64_t v,
		       size_t n)
{
	struct shmx_peer_msg got;
	int len;

	if (m)
		assert_int_equal(shmx__peer_encode(m, buf, sizeof(buf)),
				 -EINVAL);
	len = shmx__peer_encode(good, buf, sizeof(buf));
	assert_true(len > 0);
	shmx__put_le(buf + off, v, n);
	assert_int_not_equal(shmx__peer_decode(buf, (size_t)len, &got), 0);
}

static void test_bad_fields(void **state)
{
	struct shmx_peer_msg g = base(SHMX_PEER_SIGNAL), m;
	struct shmx_peer_msg r = base(SHMX_PEER_MSG_REF);
	struct shmx_peer_msg c = base(SHMX_PEER_CREDIT);
	struct shmx_peer_msg got;

	(void)state;
	g.u.signal.signo = 9;
	r.u.ref.gaddr = 4096;
	r.u.ref.len = 100;
	r.u.ref.kind = SHMX_PEER_REF_COPY;
	m = g, m.src = 0;
	expect_bad(&m, &g, 12, 0, 4);
	m = g, m.dst = 0;
	expect_bad(&m, &g, 16, 0, 4);
	m = g, m.src_tag = 0;
	expect_bad(&m, &g, 24, 0, 8);
	m = g, m.dst_tag = 0;
	expect_bad(&m, &g, 32, 0, 8);
	m = g, m.seq = 0;
	expect_bad(&m, &g, 40, 0, 8);
	m = c, m.seq = 1;
	expect_bad(&m, &c, 40, 1, 8);
	m = g, m.type = 0;
	expect_bad(&m, &g, 6, 0, 2);
	m = g, m.type = 6;
	expect_bad(&m, &g, 6, 6, 2);
	/* A CREDIT_ASK has seq 0 and no payload. */
	m = base(SHMX_PEER_CREDIT_ASK), m.seq = 1;
	expect_bad(&m, &c, 6, SHMX_PEER_CREDIT_ASK, 2);
	m = base(SHMX_PEER_CREDIT_ASK);
	expect_bad(NULL, &m, 40, 1, 8);
	m = g, m.u.signal.signo = 0;
	expect_bad(&m, &g, 48, 0, 4);
	m = g, m.u.signal.signo = SHMX_SIGNO_MAX + 1;
	expect_bad(&m, &g, 48, SHMX_SIGNO_MAX + 1, 4);
	m = r, m.u.ref.kind = 0;
	expect_bad(&m, &r, 64, 0, 4);
	m = r, m.u.ref.kind = 4;
	expect_bad(&m, &r, 64, 4, 4);
	m = r, m.u.ref.len = 0;
	expect_bad(&m, &r, 56, 0, 8);
	m = r, m.u.ref.len = SHMX_MSG_MAX + 1;
	expect_bad(&m, &r, 56, SHMX_MSG_MAX + 1, 8);
	m = r, m.u.ref.gaddr = UINT64_MAX - 50;
	expect_bad(&m, &r, 48, UINT64_MAX - 50, 8);
	m = base(SHMX_PEER_MSG), m.u.msg.data = payload;
	m.u.msg.len = SHMX_PEER_INLINE_MAX + 1;
	assert_int_equal(shmx__peer_encode(&m, buf, sizeof(buf)), -EINVAL);
	/* Reserved fields, magic, length. */
	expect_bad(NULL, &g, 20, 1, 4);
	expect_bad(NULL, &g, 52, 1, 4);
	expect_bad(NULL, &r, 68, 1, 4);
	expect_bad(NULL, &g, 0, 0x504d4854u, 4);
	expect_bad(NULL, &g, 8, 63, 4);
	/* Another version: -EPROTO. */
	assert_int_equal(shmx__peer_encode(&g, buf, sizeof(buf)), 64);
	shmx__put_le(buf + 4, SHMX_PEER_VERSION + 1, 2);
	assert_int_equal(shmx__peer_decode(buf, 64, &got), -EPROTO);
	/* Too small a buffer to encode into. */
	assert_int_equal(shmx__peer_encode(&g, buf, 63), -EMSGSIZE);
}

static void test_truncations_and_flips(void **state)
{
	struct shmx_peer_msg g = base(SHMX_PEER_SIGNAL), got;
	uint8_t good[64];

	(void)state;
	g.u.signal.signo = 1;
	assert_int_equal(shmx__peer_encode(&g, good, sizeof(good)), 64);
	/* Every shorter length, with the length field left or fixed up. */
	for (size_t len = 0; len < 64; len++) {
		memcpy(buf, good, 64);
		assert_int_equal(shmx__peer_decode(buf, len, &got), -EBADMSG);
		if (len >= SHMX_PEER_HDR_LEN) {
			shmx__put_le(buf + 8, len, 4);
			assert_int_equal(shmx__peer_decode(buf, len, &got),
					 -EBADMSG);
		}
	}
	/* One byte flipped anywhere: rejected, or a message that checks
	 * (an id, a tag, a seq or the value changed); in the magic,
	 * version, type, length and flags always rejected. */
	for (size_t off = 0; off < 64; off++) {
		int ret;

		memcpy(buf, good, 64);
		buf[off] ^= 0x80;
		ret = shmx__peer_decode(buf, 64, &got);
		assert_true(ret == 0 || ret == -EBADMSG || ret == -EPROTO);
		if (off < 12 || (off >= 20 && off < 24))
			assert_int_not_equal(ret, 0);
	}
	assert_int_equal(shmx__peer_decode(buf, SHMX_PEER_MSG_MAX + 1, &got),
			 -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_layout_is_pinned),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_truncations_and_flips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
