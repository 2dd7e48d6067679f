/* SPDX-License-Identifier: MIT */
/*
 * test_xport_mailbox.c - mailbox endpoints of the transport layer, in one
 * process, no shmnode: three mailboxes bound to an ephemeral port learn
 * each other's listen address, resolve each other and exchange 1000
 * messages per pair and direction (lengths up to XPORT_MSG_MAX, contents
 * and per-sender order checked); the split wait wakes on a message; a
 * resolve is counted and undone by peer_remove; a send to a mailbox that
 * closed fails within a bound.  Transport from SHMEXT_TRANSPORT (default
 * ofi) and SHMEXT_PROVIDER; host from SHMX_TEST_MAILBOX_HOST, else
 * SHMX_IP (set in the rxe VMs), else 127.0.0.1.  Skipped (77) when the transport cannot be opened.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/clock.h"
#include "util/parse.h"
#include "xport/xport.h"

#define NBOX 3
#define NMSG 1000
#define STEP_MS 10000 /* the longest any step may take */

struct box {
	struct xport *xp;
	char addr[64];		 /* its listen address */
	xport_peer_t peer[NBOX]; /* its peers for the other boxes */
	uint32_t next[NBOX];	 /* next sequence expected from each box */
	unsigned received;	 /* messages checked */
};

/* What a message carries before its pattern. */
struct msg_head {
	uint32_t from, seq;
};

static struct box boxes[NBOX];
static volatile int stop_pump;

static const char *transport(void)
{
	const char *t = getenv("SHMEXT_TRANSPORT");

	return t && *t ? t : "ofi";
}

static int open_box(struct xport **xp)
{
	const char *host = getenv("SHMX_TEST_MAILBOX_HOST");
	struct xport_attr attr = { .provider = getenv("SHMEXT_PROVIDER") };
	char bind[80], why[128];

	/* In the rxe VMs (tests/rxe): the VM's own address, on its device. */
	if (!host || !*host)
		host = getenv("SHMX_IP");
	snprintf(bind, sizeof(bind), "%s:0",
		 host && *host ? host : "127.0.0.1");
	attr.bind = bind;
	return shmx__xport_open(transport(), &attr, xp, why, sizeof(why));
}

/* Message @seq from @from: its length and bytes. */
static size_t msg_len(uint32_t from, uint32_t seq)
{
	size_t span = XPORT_MSG_MAX - sizeof(struct msg_head) + 1;

	return sizeof(struct msg_head) + (seq * 2654435761u + from) % span;
}

static uint8_t msg_byte(uint32_t from, uint32_t seq, size_t i)
{
	return (uint8_t)(i * 31 + seq * 7 + from);
}

static void msg_fill(uint8_t *buf, uint32_t from, uint32_t seq)
{
	struct msg_head h = { from, seq };
	size_t len = msg_len(from, seq);

	memcpy(buf, &h, sizeof(h));
	for (size_t i = sizeof(h); i < len; i++)
		buf[i] = msg_byte(from, seq, i);
}

/* A received message: the next one from its sender, intact. */
static void msg_check(struct box *b, const struct xport_completion *c)
{
	struct msg_head h;

	assert_int_equal(c->status, 0);
	assert_true(c->len >= sizeof(h));
	memcpy(&h, c->buf, sizeof(h));
	assert_true(h.from < NBOX);
	assert_int_equal(h.seq, b->next[h.from]);
	assert_int_equal(c->len, msg_len(h.from, h.seq));
	for (size_t i = sizeof(h); i < c->len; i++)
		if (((uint8_t *)c->buf)[i] != msg_byte(h.from, h.seq, i))
			fail_msg("message %u from %u: byte %zu differs", h.seq,
				 h.from, i);
	b->next[h.from]++;
	b->received++;
}

/*
 * Poll every open box once: receives are checked, send completions with
 * an op_ctx counted into *(int *)op_ctx (errors as -1 into *errs when
 * @errs).  Returns completions seen.
 */
static int pump(int *errs)
{
	struct xport_completion c[32];
	int total = 0;

	for (int i = 0; i < NBOX; i++) {
		struct box *b = &boxes[i];
		int n;

		if (!b->xp)
			continue;
		n = xport_poll(b->xp, c, 32);
		assert_true(n >= 0);
		for (int k = 0; k < n; k++) {
			if (c[k].op == XPORT_OP_RECV) {
				msg_check(b, &c[k]);
				xport_recv_done(b->xp, c[k].buf);
			} else if (c[k].status && errs) {
				(*errs)++;
			}
		}
		total += n;
	}
	return total;
}

static int group_setup(void **state)
{
	(void)state;
	for (int i = 0; i < NBOX; i++) {
		struct box *b = &boxes[i];

		if (open_box(&b->xp))
			return -1;
		if (xport_listen_addr(b->xp, b->addr, sizeof(b->addr)))
			return -1;
	}
	for (int i = 0; i < NBOX; i++)
		for (int j = 0; j < NBOX; j++)
			if (i != j && xport_resolve(boxes[i].xp, boxes[j].addr,
						    &boxes[i].peer[j]))
				return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NBOX; i++)
		if (boxes[i].xp)
			boxes[i].xp->ops->close(boxes[i].xp);
	return 0;
}

/* The address bound: IP:PORT with the port the kernel chose. */
static void test_listen_addr(void **state)
{
	char host[64];
	uint16_t port;

	(void)state;
	for (int i = 0; i < NBOX; i++) {
		assert_int_equal(shmx__parse_host_port(boxes[i].addr, 0, host,
						       sizeof(host), &port),
				 0);
		assert_int_not_equal(port, 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(boxes[i].addr, boxes[j].addr);
	}
	print_message("%s mailboxes at %s, %s, %s\n", transport(),
		      boxes[0].addr, boxes[1].addr, boxes[2].addr);
}

/* Every box sends NMSG to every other, interleaved; all arrive in order. */
static void test_exchange(void **state)
{
	uint32_t sent[NBOX][NBOX] = { { 0 } };
	uint8_t buf[XPORT_MSG_MAX];
	unsigned want = NBOX * (NBOX - 1) * NMSG, got = 0, left = want;
	uint64_t end = shmx__now_ms() + 6 * STEP_MS;

	(void)state;
	while ((left || got < want) && shmx__now_ms() < end) {
		for (int i = 0; i < NBOX; i++) {
			for (int j = 0; j < NBOX; j++) {
				int ret;

				if (i == j || sent[i][j] == NMSG)
					continue;
				msg_fill(buf, (uint32_t)i, sent[i][j]);
				ret = xport_send(
					boxes[i].xp, boxes[i].peer[j], buf,
					msg_len((uint32_t)i, sent[i][j]), NULL);
				if (ret == -EAGAIN)
					continue;
				assert_int_equal(ret, 0);
				sent[i][j]++;
				left--;
			}
		}
		pump(NULL);
		got = 0;
		for (int i = 0; i < NBOX; i++)
			got += boxes[i].received;
	}
	assert_int_equal(left, 0);
	assert_int_equal(got, want);
	for (int i = 0; i < NBOX; i++)
		for (int j = 0; j < NBOX; j++)
			if (i != j)
				assert_int_equal(boxes[i].next[j], NMSG);
}

/* Poll @fds for up to @ms; 1 if one became readable. */
static int readable(const int *fds, int nfds, int ms)
{
	struct pollfd pfd[XPORT_WAIT_FDS];

	for (int i = 0; i < nfds; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	return poll(pfd, (nfds_t)nfds, ms) > 0;
}

/* Arm box 0 (polling while it says completions may be ready). */
static int arm(int *fds, int *nfds)
{
	uint64_t end = shmx__now_ms() + STEP_MS;
	int ret;

	while ((ret = xport_wait_arm(boxes[0].xp, fds, nfds)) == 1 &&
	       shmx__now_ms() < end)
		pump(NULL);
	assert_int_equal(ret, 0);
	return *nfds;
}

/*
 * The split wait: an armed box sleeps (a spurious wake-up or two at most,
 * then a full timeout), and a message from another box wakes it.
 */
static void test_wait_arm(void **state)
{
	int fds[XPORT_WAIT_FDS], nfds, quiet = 0;
	uint32_t before = boxes[0].next[1];
	uint8_t buf[XPORT_MSG_MAX];
	uint64_t end;

	(void)state;
	for (int i = 0; i < 5 && !quiet; i++) {
		if (!arm(fds, &nfds)) {
			print_message("no wait object: the caller naps\n");
			skip();
		}
		assert_true(nfds <= XPORT_WAIT_FDS);
		quiet = !readable(fds, nfds, 200);
		pump(NULL);
	}
	assert_true(quiet);

	arm(fds, &nfds);
	msg_fill(buf, 1, boxes[0].next[1]);
	assert_int_equal(xport_send(boxes[1].xp, boxes[1].peer[0], buf,
				    msg_len(1, boxes[0].next[1]), NULL),
			 0);
	/* The sender may need progress to put it on the wire. */
	end = shmx__now_ms() + STEP_MS;
	while (!readable(fds, nfds, 10) && shmx__now_ms() < end) {
		struct xport_completion c[8];

		assert_true(xport_poll(boxes[1].xp, c, 8) >= 0);
	}
	assert_true(shmx__now_ms() < end);
	end = shmx__now_ms() + STEP_MS;
	while (boxes[0].next[1] == before && shmx__now_ms() < end)
		pump(NULL);
	assert_int_equal(boxes[0].next[1], before + 1);
}

/* Send one message from box @i to box @j through @peer and see it land. */
static void one_message(int i, int j, xport_peer_t peer)
{
	uint32_t before = boxes[j].next[i];
	uint8_t buf[XPORT_MSG_MAX];
	uint64_t end = shmx__now_ms() + STEP_MS;
	int ret;

	msg_fill(buf, (uint32_t)i, before);
	while ((ret = xport_send(boxes[i].xp, peer, buf,
				 msg_len((uint32_t)i, before), NULL)) ==
		       -EAGAIN &&
	       shmx__now_ms() < end)
		pump(NULL);
	assert_int_equal(ret, 0);
	while (boxes[j].next[i] == before && shmx__now_ms() < end)
		pump(NULL);
	assert_int_equal(boxes[j].next[i], before + 1);
}

/* Resolving again gives the same peer, counted; peer_remove undoes one. */
static void test_peer_remove(void **state)
{
	xport_peer_t p, q;

	(void)state;
	assert_int_equal(xport_resolve(boxes[0].xp, boxes[2].addr, &p), 0);
	assert_true(p == boxes[0].peer[2]);
	assert_int_equal(xport_peer_remove(boxes[0].xp, p), 0);
	/* One reference left: still the working peer. */
	one_message(0, 2, boxes[0].peer[2]);
	assert_int_equal(xport_peer_remove(boxes[0].xp, boxes[0].peer[2]), 0);
	boxes[0].peer[2] = XPORT_PEER_NONE;
	/* Gone: a new resolve makes a working one again. */
	assert_int_equal(xport_resolve(boxes[0].xp, boxes[2].addr, &q), 0);
	boxes[0].peer[2] = q;
	one_message(0, 2, q);
	one_message(2, 0, boxes[2].peer[0]);
}

/*
 * Sends to @peer of box 0 until one fails (error return or error
 * completion); the time that took, or fails the test past XPORT_GONE_MS.
 */
static uint64_t until_send_fails(xport_peer_t peer)
{
	uint64_t start = shmx__now_ms(), end = start + XPORT_GONE_MS + 2000;
	uint8_t buf[64] = { 0 };
	int errs = 0, ret = 0, ctx;

	while (!errs && shmx__now_ms() < end) {
		ret = xport_send(boxes[0].xp, peer, buf, sizeof(buf), &ctx);
		if (ret && ret != -EAGAIN)
			break;
		pump(&errs);
		shmx__sleep_us(1000);
	}
	if (!errs && (!ret || ret == -EAGAIN))
		fail_msg("sends to a closed mailbox did not fail in %d ms",
			 XPORT_GONE_MS + 2000);
	/* What was still in flight completes too. */
	for (uint64_t e = shmx__now_ms() + 500; shmx__now_ms() < e;)
		pump(&errs);
	return shmx__now_ms() - start;
}

/* A mailbox that was talked to, then closed; one that was never reached. */
static void test_send_to_closed(void **state)
{
	struct xport *gone;
	xport_peer_t p;
	char addr[64];

	(void)state;
	/* Box 2 goes away after a message both ways. */
	one_message(0, 2, boxes[0].peer[2]);
	one_message(2, 0, boxes[2].peer[0]);
	boxes[2].xp->ops->close(boxes[2].xp);
	boxes[2].xp = NULL;
	print_message("send to a closed mailbox failed after %llu ms\n",
		      (unsigned long long)until_send_fails(boxes[0].peer[2]));

	/* One that listened once and is gone before anyone connected. */
	assert_int_equal(open_box(&gone), 0);
	assert_int_equal(xport_listen_addr(gone, addr, sizeof(addr)), 0);
	gone->ops->close(gone);
	assert_int_equal(xport_resolve(boxes[0].xp, addr, &p), 0);
	print_message("send to a mailbox never reached failed after %llu ms\n",
		      (unsigned long long)until_send_fails(p));
	assert_int_equal(xport_peer_remove(boxes[0].xp, p), 0);

	/* The others are unharmed. */
	one_message(0, 1, boxes[0].peer[1]);
	one_message(1, 0, boxes[1].peer[0]);
}

/* Box 1 accepts connections (verbs) while the main thread opens a client. */
static void *pump_box1(void *arg)
{
	uint64_t end = shmx__now_ms() + STEP_MS;
	struct xport_completion c[8];

	(void)arg;
	while (!stop_pump && shmx__now_ms() < end) {
		int n = xport_poll(boxes[1].xp, c, 8);

		for (int k = 0; k < n; k++)
			if (c[k].op == XPORT_OP_RECV)
				xport_recv_done(boxes[1].xp, c[k].buf);
		shmx__sleep_us(200);
	}
	return NULL;
}

/* A client of a listener (box 1) names the IP it reaches it from. */
static void test_local_host(void **state)
{
	struct xport_attr attr = { .provider = getenv("SHMEXT_PROVIDER"),
				   .connect = boxes[1].addr };
	char host[64], ip[64], why[128];
	struct xport *cl = NULL;
	uint16_t port;
	pthread_t t;
	int ret;

	(void)state;
	assert_int_equal(shmx__parse_host_port(boxes[1].addr, 0, host,
					       sizeof(host), &port),
			 0);
	stop_pump = 0;
	assert_int_equal(pthread_create(&t, NULL, pump_box1, NULL), 0);
	ret = shmx__xport_open(transport(), &attr, &cl, why, sizeof(why));
	stop_pump = 1;
	pthread_join(t, NULL);
	assert_int_equal(ret, 0);
	ret = xport_local_host(cl, ip, sizeof(ip));
	cl->ops->close(cl);
	assert_int_equal(ret, 0);
	assert_string_equal(ip, host);
	/* Not a client: no node to reach. */
	assert_int_equal(xport_local_host(boxes[0].xp, ip, sizeof(ip)),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_addr),
		cmocka_unit_test(test_local_host),
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_wait_arm),
		cmocka_unit_test(test_peer_remove),
		cmocka_unit_test(test_send_to_closed),
	};
	struct xport *probe;
	int ret = open_box(&probe);

	if (ret) {
		printf("skipped: transport %s cannot open a mailbox (%s)\n",
		       transport(), strerror(-ret));
		return 77;
	}
	probe->ops->close(probe);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
