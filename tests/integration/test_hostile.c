/* SPDX-License-Identifier: MIT */
/*
 * test_hostile.c - shmnode survives any client: random bytes, every
 * truncation of a valid message, corrupted headers, forged sessions and
 * tokens, replies sent as requests, another protocol version.  After all
 * of it, a normal client still joins and works, and the node shuts down
 * cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "proto/lockword.h"
#include "proto/proto.h"
#include "util/clock.h"
#include "xport/xport.h"

static struct node_proc node;
static struct xport *xp;
static xport_peer_t peer;

static int group_setup(void **state)
{
	struct xport_attr attr = { .provider = "tcp;ofi_rxm" };

	if (node_start(&node, NULL))
		return -1;
	/* Source address on loopback, like libshmext's own endpoints. */
	attr.connect = node.addr;
	if (shmx__xport_ofi_ops.open(&attr, &xp))
		return -1;
	return xport_resolve(xp, node.addr, &peer);
}

static int group_teardown(void **state)
{
	if (xp)
		xp->ops->close(xp);
	return node_stop(&node) == 0 ? 0 : -1;
}

/* Send raw bytes, keeping the endpoint progressing. */
static void send_raw(const void *buf, size_t len)
{
	struct xport_completion c[16];
	int ret, n;

	while ((ret = xport_send(xp, peer, buf, len, NULL)) == -EAGAIN) {
		n = xport_poll(xp, c, 16);
		for (int i = 0; i < n; i++)
			if (c[i].op == XPORT_OP_RECV)
				xport_recv_done(xp, c[i].buf);
	}
	assert_int_equal(ret, 0);
}

/* Wait up to @ms for a message; decode it into @msg.  1 if one came. */
static int recv_msg(struct shmx_msg *msg, int ms)
{
	uint64_t end = shmx__now_ms() + (uint64_t)ms;
	struct xport_completion c[16];
	int got = 0;

	while (!got && shmx__now_ms() < end) {
		int n = xport_poll(xp, c, 16);

		for (int i = 0; i < n; i++) {
			if (c[i].op != XPORT_OP_RECV)
				continue;
			/* Events (others joining and leaving) are not what
			 * a raw member waits for. */
			if (!got && !c[i].status &&
			    shmx__proto_decode(c[i].buf, c[i].len, msg) ==
				    SHMX_ST_OK &&
			    !(msg->hdr.flags & SHMX_HDR_EVENT))
				got = 1;
			xport_recv_done(xp, c[i].buf);
		}
		if (!n)
			usleep(200);
	}
	return got;
}

/* Throw away whatever earlier tests left queued for us. */
static void drain(void)
{
	struct shmx_msg m;

	while (recv_msg(&m, 300))
		;
}

/* A valid HELLO from our own endpoint, encoded into @buf. */
static int hello(uint8_t *buf, const char *name)
{
	struct shmx_msg m;
	size_t alen = SHMX_WIRE_ADDR_MAX;

	shmx__msg_init(&m, SHMX_OP_HELLO, 77, 0, 0);
	m.u.hello.pid = (uint32_t)getpid();
	snprintf(m.u.hello.name, sizeof(m.u.hello.name), "%s", name);
	snprintf(m.u.hello.host, sizeof(m.u.hello.host), "localhost");
	assert_int_equal(xport_getname(xp, m.u.hello.addr, &alen), 0);
	m.u.hello.addr_len = (uint8_t)alen;
	return shmx__proto_encode(&m, buf, SHMX_WIRE_MAX);
}

/* Send request @m of the raw member and wait for its reply in @rep. */
static void raw_call(struct shmx_msg *m, struct shmx_msg *rep)
{
	uint8_t buf[SHMX_WIRE_MAX];
	int len = shmx__proto_encode(m, buf, sizeof(buf));

	assert_true(len > 0);
	send_raw(buf, (size_t)len);
	assert_true(recv_msg(rep, 3000));
	assert_int_equal(rep->hdr.req_id, m->hdr.req_id);
}

/*
 * Join as a raw member called @name (a keyless node: an empty proof).
 * Returns nothing; the session and its token in *@session, *@token.
 */
static void raw_join(const char *name, uint32_t *session, uint64_t *token)
{
	uint8_t buf[SHMX_WIRE_MAX];
	struct shmx_msg m, rep;
	int len = hello(buf, name);

	send_raw(buf, (size_t)len);
	assert_true(recv_msg(&rep, 3000));
	assert_int_equal(rep.hdr.status, SHMX_ST_OK);
	*session = rep.u.challenge.session;
	*token = rep.u.challenge.token;
	shmx__msg_init(&m, SHMX_OP_AUTH, 2, *session, *token);
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_OK);
}

static void assert_node_serves(void)
{
	struct shmx_ctx *ctx;
	shmx_gaddr_t w;
	uint64_t v;

	assert_int_equal(client_open(&node, NULL, 0, &ctx), 0);
	assert_int_equal(scratch_alloc(ctx, 8, &w), 0);
	assert_int_equal(shmx_fadd64(ctx, w, 1, &v), 0);
	assert_int_equal(shmx_release(ctx, w), 0);
	assert_int_equal(shmx_close(ctx), 0);
}

static void test_random_bytes(void **state)
{
	uint8_t buf[XPORT_MSG_MAX];

	srand(1234);
	for (int i = 0; i < 500; i++) {
		size_t len = 1 + (size_t)rand() % sizeof(buf);

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rand();
		/* Half of them with a believable header start. */
		if (i % 2 && len >= 8) {
			memcpy(buf, "SHMX\x01\x00", 6);
			buf[6] = (uint8_t)(1 + rand() % (SHMX_OP_MAX + 2));
			buf[7] = 0;
		}
		send_raw(buf, len);
	}
	assert_node_serves();
}

static void test_every_truncation(void **state)
{
	uint8_t buf[SHMX_WIRE_MAX];
	int len = hello(buf, "truncated");

	assert_true(len > 0);
	for (int cut = 1; cut < len; cut++)
		send_raw(buf, (size_t)cut);
	assert_node_serves();
}

static void test_corrupted_headers(void **state)
{
	uint8_t buf[SHMX_WIRE_MAX], bad[SHMX_WIRE_MAX];
	int len = hello(buf, "corrupted");

	/* Flip each bit of the header and the fixed fields before the
	 * strings: never the address, which must stay our own. */
	for (int bit = 0; bit < 8 * (SHMX_HDR_LEN + 12); bit++) {
		memcpy(bad, buf, (size_t)len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		send_raw(bad, (size_t)len);
	}
	assert_node_serves();
}

static void test_forged_sessions(void **state)
{
	uint8_t buf[SHMX_WIRE_MAX];
	struct shmx_msg m, rep;
	struct shmx_ctx *victim;
	int len;

	drain();
	assert_int_equal(client_open(&node, "victim", 0, &victim), 0);
	/* Every opcode, with the victim's id and guessed tokens. */
	for (int op = 1; op < SHMX_OP_MAX; op++) {
		for (uint64_t tok = 0; tok < 4; tok++) {
			shmx__msg_init(&m, (uint16_t)op, 5, shmx_self(victim),
				       tok);
			if (op == SHMX_OP_HELLO)
				continue;
			if (op == SHMX_OP_LOOKUP)
				snprintf(m.u.lookup_req.name,
					 sizeof(m.u.lookup_req.name), "victim");
			/* Payloads the encoder accepts (names, owner sets). */
			strcpy(m.u.pool_open.name, "victims-pool");
			if (op == SHMX_OP_SEG_OPEN)
				strcpy(m.u.seg_open.name, "victims-seg");
			if (op == SHMX_OP_OWN || op == SHMX_OP_OWN_TRANSFER) {
				m.u.own.count = 1;
				m.u.own.nodes[0] = shmx_self(victim);
			}
			/* An event, as if the node had sent it. */
			if (op == SHMX_OP_REVOKE) {
				m.hdr.flags = SHMX_HDR_EVENT;
				m.u.revoke.len = 8;
			}
			if (op == SHMX_OP_MAP) {
				m.hdr.flags = SHMX_HDR_EVENT;
				m.u.map.nr = 1;
				m.u.map.ext[0].len = 8;
				m.u.map.total = 8;
			}
			if (op == SHMX_OP_MEMBER) {
				m.hdr.flags = SHMX_HDR_EVENT;
				m.u.member.id = 1;
				m.u.member.what = SHMX_MEMBER_LEFT;
			}
			if (op == SHMX_OP_GROW || op == SHMX_OP_SHRINK)
				m.u.resize.len = 8;
			if (op == SHMX_OP_RESUME) {
				m.u.resume.addr_len = 4;
				memcpy(m.u.resume.addr, "evil", 4);
			}
			len = shmx__proto_encode(&m, buf, sizeof(buf));
			assert_true(len > 0);
			send_raw(buf, (size_t)len);
		}
	}
	/* Nothing answers a forger: it has no session of its own. */
	assert_false(recv_msg(&rep, 300));
	/* A reply sent as if it were a request. */
	shmx__msg_init(&m, SHMX_OP_PING, 1, 0, 0);
	m.hdr.flags = SHMX_HDR_REPLY;
	len = shmx__proto_encode(&m, buf, sizeof(buf));
	send_raw(buf, (size_t)len);
	/* The victim is unharmed. */
	{
		shmx_gaddr_t w;

		assert_int_equal(scratch_alloc(victim, 8, &w), 0);
		assert_int_equal(shmx_fadd64(victim, w, 1, NULL), 0);
		assert_int_equal(shmx_release(victim, w), 0);
	}
	assert_int_equal(shmx_close(victim), 0);
	assert_node_serves();
}

static void test_other_protocol_version(void **state)
{
	uint8_t buf[SHMX_WIRE_MAX];
	struct shmx_msg rep;
	int len = hello(buf, "from-the-future");

	drain();
	buf[4] = SHMX_PROTO_VERSION + 1; /* a version from the future */
	send_raw(buf, (size_t)len);
	assert_true(recv_msg(&rep, 3000));
	assert_int_equal(rep.hdr.status, SHMX_ST_VERSION);
	assert_int_equal(rep.hdr.req_id, 77);
	assert_true(node_log_contains(&node, "protocol version 3"));
}

static void test_half_open_handshakes(void **state)
{
	uint8_t buf[SHMX_WIRE_MAX];
	struct shmx_msg rep, m;
	char name[32];
	int len;

	drain();
	/* HELLO without AUTH, many times: slots come back after the client
	 * timeout, and meanwhile a real client still gets in. */
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "half-open-%d", i);
		len = hello(buf, name);
		send_raw(buf, (size_t)len);
		assert_true(recv_msg(&rep, 3000));
		assert_int_equal(rep.hdr.status, SHMX_ST_OK);
	}
	/* AUTH for a real session but in the wrong state (twice). */
	len = hello(buf, "double-auth");
	send_raw(buf, (size_t)len);
	assert_true(recv_msg(&rep, 3000));
	shmx__msg_init(&m, SHMX_OP_AUTH, 9, rep.u.challenge.session,
		       rep.u.challenge.token);
	len = shmx__proto_encode(&m, buf, sizeof(buf));
	send_raw(buf, (size_t)len);
	assert_true(recv_msg(&rep, 3000));
	assert_int_equal(rep.hdr.status, SHMX_ST_OK);
	send_raw(buf, (size_t)len);
	assert_true(recv_msg(&rep, 3000));
	assert_int_equal(rep.hdr.status, SHMX_ST_STATE);
	assert_node_serves();
}

/* Wait up to @ms for the completion of the write posted with @op. */
static int write_status(void *op, int ms)
{
	uint64_t end = shmx__now_ms() + (uint64_t)ms;
	struct xport_completion c[16];

	while (shmx__now_ms() < end) {
		int n = xport_poll(xp, c, 16);

		for (int i = 0; i < n; i++) {
			if (c[i].op == XPORT_OP_RECV) {
				xport_recv_done(xp, c[i].buf);
				continue;
			}
			if (c[i].op_ctx == op)
				return c[i].status;
		}
		if (n < 0)
			return n;
		if (!n)
			usleep(200);
	}
	return -ETIMEDOUT;
}

/*
 * The fabric enforces what the node decides: a client that keeps a key
 * after it was revoked (it ignores the node's REVOKE) and presents it is
 * refused by the transport, and the memory does not change; a key made up
 * is refused too.  This client speaks the protocol by hand.
 */
static void test_revoked_key_refused_by_fabric(void **state)
{
	struct shmx_msg rep, m;
	struct shmx_ctx *ctx;
	struct shmx_pool *p;
	uint64_t mine = 0x600d, bad = 0xbad, v = 0, key, rbase, token;
	uint32_t session;
	shmx_node_t me;
	shmx_gaddr_t at;
	int ret;
	char op1, op2, op3;

	drain();
	assert_int_equal(client_open(&node, "owner", 0, &ctx), 0);
	me = shmx_self(ctx);
	assert_int_equal(
		shmx_pool_open(ctx, "hostile", 1 << 16, SHMX_CREAT, &p), 0);
	assert_int_equal(shmx_alloc(p, 64, 0, &at), 0);
	assert_int_equal(shmx_write(ctx, at, &mine, 8), 0);

	/* A raw member joins (keyless node: an empty proof) and asks for
	 * the block's write key, which an unowned block gets. */
	raw_join("raw-member", &session, &token);
	shmx__msg_init(&m, SHMX_OP_GRANT, 3, session, token);
	m.u.grant_req.gaddr = at;
	m.u.grant_req.access = SHMX_ACC_WRITE;
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_OK);
	key = rep.u.grant.key;
	rbase = rep.u.grant.rbase;
	assert_int_equal(
		xport_write(xp, peer, &mine, 8, NULL, rbase, key, &op1), 0);
	assert_int_equal(write_status(&op1, 3000), 0);

	/* The owner takes the block: the raw member's key is revoked. */
	assert_int_equal(shmx_own(ctx, at, &me, 1, NULL), 0);
	ret = xport_write(xp, peer, &bad, 8, NULL, rbase, key, &op2);
	if (!ret)
		ret = write_status(&op2, 5000);
	assert_true(ret < 0 && ret != -ETIMEDOUT);
	/* A key nobody handed out. */
	ret = xport_write(xp, peer, &bad, 8, NULL, rbase, key ^ 0x5a5a, &op3);
	if (!ret)
		ret = write_status(&op3, 5000);
	assert_true(ret < 0 && ret != -ETIMEDOUT);

	/* Nothing landed; the owner and the node carry on. */
	assert_int_equal(shmx_read(ctx, at, &v, 8), 0);
	assert_int_equal(v, mine);
	assert_int_equal(shmx_write(ctx, at, &bad, 8), 0);
	assert_int_equal(shmx_release(ctx, at), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
	shmx_close(ctx);
	assert_node_serves();
}

/*
 * A fetch-and-add of @add on the lock word at @raddr under @key, as a
 * member's acquire or release does; the word before it is returned.
 */
static uint64_t raw_fadd(uint64_t raddr, uint64_t key, uint64_t add)
{
	uint64_t prev = UINT64_MAX;
	char op;

	assert_int_equal(
		xport_fadd64(xp, peer, raddr, key, add, &prev, NULL, &op), 0);
	assert_int_equal(write_status(&op, 3000), 0);
	return prev;
}

/*
 * The node's side of global locks, spoken by hand: a reservation's
 * address and key reach the slot with the fabric's atomics, a listing
 * shows the word they changed, an unreserve is refused while the word is
 * not quiet, the last one ends the lock, and a member that leaves gives
 * up its reservations.
 */
static void test_locks_by_hand(void **state)
{
	struct shmx_msg m, rep;
	uint32_t session;
	uint64_t token, id, raddr, key, word;

	drain();
	raw_join("raw-locker", &session, &token);

	/* A named lock, created with the node's default lease. */
	shmx__msg_init(&m, SHMX_OP_LOCK_RESERVE, 3, session, token);
	strcpy(m.u.lock_reserve.name, "raw lock");
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_OK);
	assert_int_equal(rep.u.lock.created, 1);
	assert_int_equal(rep.u.lock.lease_ms, SHMX_LOCK_LEASE_MS);
	id = rep.u.lock.id;
	raddr = rep.u.lock.raddr;
	key = rep.u.lock.key;
	/* The same name again: the same lock, not created. */
	m.hdr.req_id = 4;
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_OK);
	assert_int_equal(rep.u.lock.id, id);
	assert_int_equal(rep.u.lock.raddr, raddr);
	assert_int_equal(rep.u.lock.created, 0);

	/* Take an exclusive ticket: the node lists the word it made. */
	word = raw_fadd(raddr, key, SHMX_LW_TAKE_EXCL);
	assert_true(shmx__lock_quiet(word));
	shmx__msg_init(&m, SHMX_OP_LOCK_NEXT, 5, session, token);
	m.u.next.from = id;
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_OK);
	assert_int_equal(rep.u.lock_info.id, id);
	assert_string_equal(rep.u.lock_info.name, "raw lock");
	assert_int_equal(rep.u.lock_info.reservations, 2);
	assert_int_equal(rep.u.lock_info.creator, session);
	memcpy(&word, rep.u.lock_info.slot, 8); /* little-endian host */
	assert_false(shmx__lock_quiet(word));
	assert_int_equal(shmx__lw_split(word).mx, shmx__lw_split(word).nx + 1);

	/* Held: unreserve is refused; released: it is not. */
	shmx__msg_init(&m, SHMX_OP_LOCK_UNRESERVE, 6, session, token);
	m.u.obj.id = id;
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_BUSY);
	raw_fadd(raddr, key, SHMX_LW_DONE_EXCL);
	for (uint64_t r = 7; r < 9; r++) {
		m.hdr.req_id = r;
		raw_call(&m, &rep);
		assert_int_equal(rep.hdr.status, SHMX_ST_OK);
	}
	/* The last reservation ended it: no listing, no open by id. */
	m.hdr.req_id = 9;
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_NOT_FOUND);
	shmx__msg_init(&m, SHMX_OP_LOCK_NEXT, 10, session, token);
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_NOT_FOUND);
	shmx__msg_init(&m, SHMX_OP_LOCK_RESERVE, 11, session, token);
	m.u.lock_reserve.id = id;
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_NOT_FOUND);

	/* An anonymous lock, with a lease of its own, held at BYE. */
	shmx__msg_init(&m, SHMX_OP_LOCK_RESERVE, 12, session, token);
	m.u.lock_reserve.lease_ms = 250;
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_OK);
	assert_true(rep.u.lock.id > id);
	assert_int_equal(rep.u.lock.lease_ms, 250);
	id = rep.u.lock.id;
	raw_fadd(rep.u.lock.raddr, rep.u.lock.key, SHMX_LW_TAKE_SHARED);
	shmx__msg_init(&m, SHMX_OP_BYE, 13, session, token);
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_OK);

	/* A new session finds no lock left. */
	drain();
	raw_join("raw-locker", &session, &token);
	shmx__msg_init(&m, SHMX_OP_LOCK_NEXT, 15, session, token);
	raw_call(&m, &rep);
	assert_int_equal(rep.hdr.status, SHMX_ST_NOT_FOUND);
	shmx__msg_init(&m, SHMX_OP_BYE, 16, session, token);
	raw_call(&m, &rep);
	drain();
	assert_node_serves();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_corrupted_headers),
		cmocka_unit_test(test_forged_sessions),
		cmocka_unit_test(test_other_protocol_version),
		cmocka_unit_test(test_half_open_handshakes),
		cmocka_unit_test(test_revoked_key_refused_by_fabric),
		cmocka_unit_test(test_locks_by_hand),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
