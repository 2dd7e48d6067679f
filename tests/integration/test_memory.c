/* SPDX-License-Identifier: MIT */
/*
 * test_memory.c - pools, allocation and ownership against a real shmnode:
 * creating and opening pools, every size and alignment, the errors of bad
 * releases, coalescing seen through the stats, several processes
 * allocating and writing at once without ever sharing a byte, the node's
 * limits, and the ownership state machine with its epochs, including an
 * owner that leaves, and a writer racing ownership changes (its writes
 * meet keys revoked under them, which some fabrics answer by ending the
 * connection: it must go on).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define NPROC 4
#define ROUNDS 300
#define LIVE_MAX 64

static struct node_proc node;
static struct shmx_ctx *ctx;

static int group_setup(void **state)
{
	static const char *const args[] = {
		"--size", "32M", "--member-cap", "8M", "--max-pool-size",
		"16M",	  NULL
	};

	if (node_start(&node, args))
		return -1;
	return client_open(&node, "test-pools", 0, &ctx);
}

static int group_teardown(void **state)
{
	shmx_close(ctx);
	return node_stop(&node) == 0 ? 0 : -1;
}

static void stat_of(struct shmx_pool *p, struct shmx_pool_stat *st)
{
	assert_int_equal(shmx_pool_stat(p, st), 0);
}

static void test_open_create_stat(void **state)
{
	struct shmx_pool *p, *q, *r;
	struct shmx_pool_stat st;
	struct shmx_ctx *other;

	assert_int_equal(shmx_pool_open(ctx, "p-open", 1 << 20,
					SHMX_CREAT | SHMX_EXCL, &p),
			 0);
	stat_of(p, &st);
	assert_int_equal(st.total, 1 << 20);
	assert_int_equal(st.free, 1 << 20);
	assert_int_equal(st.largest_free, 1 << 20);
	assert_int_equal(st.nr_alloc, 0);
	assert_int_equal(st.open_count, 1);
	assert_true(st.base != SHMX_GADDR_NULL);
	assert_int_equal(st.base % 4096, 0);

	/* Another member opens it by name, whatever its size. */
	assert_int_equal(client_open(&node, "p-open-2", 0, &other), 0);
	assert_int_equal(shmx_pool_open(other, "p-open", 0, 0, &q), 0);
	stat_of(q, &st);
	assert_int_equal(st.open_count, 2);
	assert_int_equal(st.total, 1 << 20);
	/* CREAT without EXCL opens what exists. */
	assert_int_equal(
		shmx_pool_open(other, "p-open", 1 << 20, SHMX_CREAT, &r), 0);
	assert_int_equal(shmx_pool_close(r), 0);

	assert_int_equal(shmx_pool_open(ctx, "p-open", 1 << 20,
					SHMX_CREAT | SHMX_EXCL, &r),
			 -EEXIST);
	assert_int_equal(shmx_pool_open(ctx, "p-absent", 0, 0, &r), -ENOENT);
	assert_int_equal(shmx_pool_open(ctx, "", 4096, SHMX_CREAT, &r),
			 -EINVAL);
	assert_int_equal(shmx_pool_open(ctx, "bad\nname", 4096, SHMX_CREAT, &r),
			 -EINVAL);
	assert_int_equal(shmx_pool_open(ctx, "p-zero", 0, SHMX_CREAT, &r),
			 -EINVAL);
	assert_int_equal(shmx_pool_open(ctx, "p-excl", 4096, SHMX_EXCL, &r),
			 -EINVAL);
	/* An existing pool of another size. */
	assert_int_equal(shmx_pool_open(ctx, "p-open", 4096, SHMX_CREAT, &r),
			 -EINVAL);
	/* Over the node's maximum pool size (16M), and over its room. */
	assert_int_equal(
		shmx_pool_open(ctx, "p-huge", 20 << 20, SHMX_CREAT, &r),
		-EFBIG);

	assert_int_equal(shmx_pool_close(q), 0);
	shmx_close(other);
	stat_of(p, &st);
	assert_int_equal(st.open_count, 1);
	assert_int_equal(shmx_pool_destroy(p), 0);
}

static void test_sizes_and_alignment(void **state)
{
	struct shmx_pool *p;
	struct shmx_pool_stat st;
	shmx_gaddr_t a, b, c, d, whole;
	uint64_t v = 0x0123456789abcdefull, w = 0;

	assert_int_equal(
		shmx_pool_open(ctx, "p-sizes", 4 << 20, SHMX_CREAT, &p), 0);
	stat_of(p, &st);

	/* The smallest block, and it is memory one can use. */
	assert_int_equal(shmx_alloc(p, 8, 0, &a), 0);
	assert_true(a >= st.base && a < st.base + st.total);
	assert_int_equal(shmx_write(ctx, a, &v, 8), 0);
	assert_int_equal(shmx_read(ctx, a, &w, 8), 0);
	assert_int_equal(w, v);
	assert_int_equal(shmx_fadd64(ctx, a, 1, NULL), 0);

	/* One byte is rounded up; the next block does not overlap. */
	assert_int_equal(shmx_alloc(p, 1, 0, &b), 0);
	assert_true(b >= a + 8 || b + 8 <= a);

	/* Alignment up to 1 MiB. */
	assert_int_equal(shmx_alloc(p, 100, SHMX_ALIGN_MAX, &c), 0);
	assert_int_equal(c % SHMX_ALIGN_MAX, 0);
	assert_int_equal(shmx_alloc(p, 24, 4096, &d), 0);
	assert_int_equal(d % 4096, 0);
	assert_int_equal(shmx_alloc(p, 8, 3, &whole), -EINVAL);
	assert_int_equal(shmx_alloc(p, 8, SHMX_ALIGN_MAX * 2, &whole), -EINVAL);
	assert_int_equal(shmx_alloc(p, 0, 0, &whole), -EINVAL);

	/* Too big while blocks are out, then the whole pool once free. */
	assert_int_equal(shmx_alloc(p, 4 << 20, 0, &whole), -ENOMEM);
	stat_of(p, &st);
	assert_int_equal(st.nr_alloc, 4);
	assert_int_equal(shmx_release(ctx, a), 0);
	assert_int_equal(shmx_release(ctx, b), 0);
	assert_int_equal(shmx_release(ctx, c), 0);
	assert_int_equal(shmx_release(ctx, d), 0);
	/* Coalesced back into one block. */
	stat_of(p, &st);
	assert_int_equal(st.nr_alloc, 0);
	assert_int_equal(st.free, st.total);
	assert_int_equal(st.largest_free, st.total);
	assert_int_equal(st.nr_free_blocks, 1);
	assert_int_equal(shmx_alloc(p, 4 << 20, 0, &whole), 0);
	assert_int_equal(whole, st.base);
	assert_int_equal(shmx_release(ctx, whole), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
}

static void test_bad_release(void **state)
{
	struct shmx_pool *p;
	struct shmx_pool_stat before, after;
	shmx_gaddr_t a, b;

	assert_int_equal(shmx_pool_open(ctx, "p-bad", 1 << 20, SHMX_CREAT, &p),
			 0);
	assert_int_equal(shmx_alloc(p, 4096, 0, &a), 0);
	assert_int_equal(shmx_alloc(p, 64, 0, &b), 0);
	stat_of(p, &before);

	/* A middle address, a never-allocated one, one outside any pool. */
	assert_int_equal(shmx_release(ctx, a + 8), -EINVAL);
	assert_int_equal(shmx_release(ctx, before.base + before.total - 8),
			 -ENOENT);
	assert_int_equal(shmx_release(ctx, 0), -ENOENT);
	assert_int_equal(shmx_release(ctx, SHMX_GADDR_NULL), -ENOENT);
	stat_of(p, &after);
	assert_memory_equal(&before, &after, sizeof(before));

	/* Twice: the second says it is gone and changes nothing. */
	assert_int_equal(shmx_release(ctx, a), 0);
	stat_of(p, &before);
	assert_int_equal(shmx_release(ctx, a), -ENOENT);
	stat_of(p, &after);
	assert_memory_equal(&before, &after, sizeof(before));

	/* Destroy waits for the last block. */
	assert_int_equal(shmx_pool_destroy(p), -EBUSY);
	assert_int_equal(shmx_release(ctx, b), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
}

static void test_limits(void **state)
{
	struct shmx_pool *p;
	shmx_gaddr_t a, b;

	/* The member cap is 8M of blocks. */
	assert_int_equal(shmx_pool_open(ctx, "p-cap", 16 << 20, SHMX_CREAT, &p),
			 0);
	assert_int_equal(shmx_alloc(p, 6 << 20, 0, &a), 0);
	assert_int_equal(shmx_alloc(p, 3 << 20, 0, &b), -EDQUOT);
	assert_int_equal(shmx_alloc(p, 2 << 20, 0, &b), 0);
	assert_int_equal(shmx_release(ctx, a), 0);
	assert_int_equal(shmx_release(ctx, b), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
}

/* A block this process holds, and the pattern it wrote there. */
struct held {
	shmx_gaddr_t at;
	uint64_t len;
	uint8_t seed;
};

static void pattern(uint8_t *buf, uint64_t len, uint8_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7);
}

static int check_held(struct shmx_ctx *c, const struct held *h, uint8_t *buf,
		      uint8_t *want)
{
	if (shmx_read(c, h->at, buf, h->len))
		return -1;
	pattern(want, h->len, h->seed);
	return memcmp(buf, want, h->len) ? -1 : 0;
}

/*
 * Allocate and release blocks of random sizes, writing a pattern of its
 * own into each; every block still held must keep its pattern to the end,
 * which fails if the allocator ever handed one byte to two holders.
 */
static int churn_client(int me, void *arg)
{
	const struct node_proc *n = arg;
	static uint8_t buf[8192], want[8192];
	struct held live[LIVE_MAX];
	struct shmx_pool *p;
	struct shmx_ctx *c;
	unsigned nlive = 0, seed = 1234u + (unsigned)me;
	char name[32];
	int bad = 0;

	snprintf(name, sizeof(name), "churn-%d", me);
	if (client_open(n, name, 0, &c) ||
	    shmx_pool_open(c, "p-churn", 0, 0, &p))
		return 1;
	for (int r = 0; r < ROUNDS && !bad; r++) {
		seed = seed * 1103515245u + 12345u;
		if (nlive == LIVE_MAX || (nlive && (seed >> 16) % 3 == 0)) {
			unsigned i = (seed >> 8) % nlive;

			bad |= check_held(c, &live[i], buf, want);
			bad |= shmx_release(c, live[i].at) != 0;
			live[i] = live[--nlive];
			continue;
		}
		struct held *h = &live[nlive];

		h->len = 8 + (seed >> 4) % (sizeof(buf) - 8);
		h->seed = (uint8_t)(me * 50 + r);
		if (shmx_alloc(p, h->len, (seed & 1) ? 64 : 0, &h->at)) {
			bad = 2;
			break;
		}
		pattern(buf, h->len, h->seed);
		bad |= shmx_write(c, h->at, buf, h->len) != 0;
		nlive++;
	}
	for (unsigned i = 0; i < nlive; i++) {
		bad |= check_held(c, &live[i], buf, want) ? 4 : 0;
		bad |= shmx_release(c, live[i].at) ? 8 : 0;
	}
	if (bad)
		fprintf(stderr, "%s: failed (%d)\n", name, bad);
	shmx_pool_close(p);
	shmx_close(c);
	return bad;
}

static void test_processes_never_share_a_byte(void **state)
{
	struct shmx_pool *p;
	struct shmx_pool_stat st;

	assert_int_equal(
		shmx_pool_open(ctx, "p-churn", 4 << 20, SHMX_CREAT, &p), 0);
	assert_int_equal(run_clients(NPROC, churn_client, &node, 120), 0);
	stat_of(p, &st);
	assert_int_equal(st.nr_alloc, 0);
	assert_int_equal(st.free, st.total);
	assert_int_equal(st.nr_free_blocks, 1);
	assert_int_equal(shmx_pool_destroy(p), 0);
}

static void test_ownership(void **state)
{
	struct shmx_ctx *b;
	struct shmx_pool *p;
	shmx_node_t me = shmx_self(ctx), other, both[2], dup[2], ghost = 999;
	uint64_t e, e2;
	shmx_gaddr_t at;
	int owner;

	assert_int_equal(client_open(&node, "p-owner-b", 0, &b), 0);
	other = shmx_self(b);
	both[0] = me;
	both[1] = other;
	dup[0] = dup[1] = other;
	assert_int_equal(shmx_pool_open(ctx, "p-own", 1 << 20, SHMX_CREAT, &p),
			 0);
	assert_int_equal(shmx_alloc(p, 256, 0, &at), 0);

	/* Unowned: epoch 1, nobody an owner. */
	assert_int_equal(shmx_own_epoch(ctx, at, &e, &owner), 0);
	assert_int_equal(e, 1);
	assert_int_equal(owner, 0);

	/* Bad owner lists and addresses. */
	assert_int_equal(shmx_own(ctx, at, &ghost, 1, &e), -ESRCH);
	assert_int_equal(shmx_own(ctx, at, dup, 2, &e), -EINVAL);
	assert_int_equal(shmx_own(ctx, at, both, 0, &e), -EINVAL);
	assert_int_equal(shmx_own(ctx, at + 8, &other, 1, &e), -EINVAL);
	assert_int_equal(shmx_disown(ctx, at, &e), -EPERM);
	assert_int_equal(shmx_own_transfer(ctx, at, &other, 1, &e), -EPERM);

	/* Give it to b: epoch 2; we are not an owner, b is. */
	assert_int_equal(shmx_own(ctx, at, &other, 1, &e), 0);
	assert_int_equal(e, 2);
	assert_int_equal(shmx_own(ctx, at, &me, 1, &e2), -EBUSY);
	assert_int_equal(shmx_own_epoch(ctx, at, &e, &owner), 0);
	assert_int_equal(e, 2);
	assert_int_equal(owner, 0);
	assert_int_equal(shmx_own_epoch(b, at, &e, &owner), 0);
	assert_int_equal(owner, 1);
	/* Only owners free an owned block. */
	assert_int_equal(shmx_release(ctx, at), -EPERM);
	assert_int_equal(shmx_own_transfer(ctx, at, &me, 1, &e), -EPERM);

	/* b hands it to both of us: epoch 3. */
	assert_int_equal(shmx_own_transfer(b, at, both, 2, &e), 0);
	assert_int_equal(e, 3);
	assert_int_equal(shmx_own_epoch(ctx, at, &e, &owner), 0);
	assert_int_equal(owner, 1);

	/* b leaves: the owner set shrinks to us, epoch 4. */
	assert_int_equal(shmx_close(b), 0);
	assert_int_equal(shmx_own_epoch(ctx, at, &e, &owner), 0);
	assert_int_equal(e, 4);
	assert_int_equal(owner, 1);

	/* Shared again: epoch 5, and the owner may release it. */
	assert_int_equal(shmx_disown(ctx, at, &e), 0);
	assert_int_equal(e, 5);
	assert_int_equal(shmx_own_epoch(ctx, at, &e, &owner), 0);
	assert_int_equal(owner, 0);
	assert_int_equal(shmx_own(ctx, at, &me, 1, &e), 0);
	assert_int_equal(e, 6);
	assert_int_equal(shmx_release(ctx, at), 0);
	assert_int_equal(shmx_own_epoch(ctx, at, &e, &owner), -EFAULT);
	assert_int_equal(shmx_pool_destroy(p), 0);
}

/*
 * A write through a key the node revoked: the fabric refuses it and the
 * memory stays as it was.  On verbs (RC queue pairs) and on libfabric's
 * tcp provider the refusal also ends the connection, so the call fails
 * with -EACCES or with the connection's end; the context is not used
 * again.
 */
static int refused(int ret)
{
	return ret == -EACCES || ret == -ECONNRESET || ret == -ECANCELED ||
	       ret == -ENOTCONN || ret == -EIO;
}

/*
 * Ownership is enforced: a member that is not an owner gets no write key
 * (-EACCES from the node, its context unharmed), and a key taken before
 * the block was owned is revoked, so the fabric refuses a write through it
 * and the memory is unchanged.  Non-owners may still read.
 */
static void test_ownership_enforced(void **state)
{
	struct shmx_ctx *b, *old;
	struct shmx_pool *p;
	shmx_node_t me = shmx_self(ctx), other;
	uint64_t e, v, mine = 0x1111, theirs = 0x2222, bad = 0xbad;
	shmx_gaddr_t at, next;

	assert_int_equal(
		shmx_pool_open(ctx, "p-enforce", 1 << 20, SHMX_CREAT, &p), 0);
	assert_int_equal(shmx_alloc(p, 4096, 0, &at), 0);
	assert_int_equal(shmx_alloc(p, 4096, 0, &next), 0);
	assert_int_equal(shmx_write(ctx, at, &mine, 8), 0);

	/* A member that held a key before the block was owned. */
	assert_int_equal(client_open(&node, "p-enforce-old", 0, &old), 0);
	assert_int_equal(shmx_write(old, at + 8, &theirs, 8), 0);
	assert_int_equal(shmx_fadd64(old, at + 16, 1, NULL), 0);

	/* Ours alone: every earlier key to the block is revoked.  The node
	 * tells the other members (REVOKE), so once that has arrived a
	 * holder of the old key asks again and is refused by the node, and
	 * its context carries on.  (Presenting the dead key anyway is
	 * refused by the fabric: test_hostile.) */
	assert_int_equal(shmx_own(ctx, at, &me, 1, &e), 0);
	assert_int_equal(e, 2);
	usleep(300000);
	assert_int_equal(shmx_write(old, at + 8, &bad, 8), -EACCES);
	assert_int_equal(shmx_fadd64(old, at + 16, 1, NULL), -EACCES);
	assert_int_equal(shmx_read(old, at + 8, &v, 8), 0);
	assert_int_equal(v, theirs);
	/* Written just after the change, before any notice could arrive:
	 * refused all the same, by the node or by the fabric. */
	assert_int_equal(shmx_own_transfer(ctx, at, &me, 1, &e), 0);
	assert_true(refused(shmx_write(old, at + 8, &bad, 8)));
	shmx_close(old);

	/* A member without a key is refused by the node, and carries on. */
	assert_int_equal(client_open(&node, "p-enforce-b", 0, &b), 0);
	assert_int_equal(shmx_write(b, at, &bad, 8), -EACCES);
	assert_int_equal(shmx_fadd64(b, at + 16, 1, NULL), -EACCES);
	assert_int_equal(shmx_cas64(b, at + 16, 1, 2, NULL), -EACCES);
	/* Reading stays allowed (the pool's read-only key). */
	assert_int_equal(shmx_read(b, at + 8, &v, 8), 0);
	assert_int_equal(v, theirs);
	/* Other blocks are not affected. */
	assert_int_equal(shmx_write(b, next, &theirs, 8), 0);

	/* Nothing the others tried changed the memory. */
	assert_int_equal(shmx_read(ctx, at, &v, 8), 0);
	assert_int_equal(v, mine);
	assert_int_equal(shmx_read(ctx, at + 8, &v, 8), 0);
	assert_int_equal(v, theirs);
	assert_int_equal(shmx_read(ctx, at + 16, &v, 8), 0);
	assert_int_equal(v, 1);

	/* Transfers: each old owner loses write access (its reply carries
	 * the read-only key), each new one gets it. */
	assert_int_equal(client_open(&node, "p-enforce-old2", 0, &old), 0);
	other = shmx_self(old);
	assert_int_equal(shmx_own_transfer(ctx, at, &other, 1, &e), 0);
	assert_int_equal(e, 4);
	assert_int_equal(shmx_write(ctx, at, &bad, 8), -EACCES);
	assert_int_equal(shmx_write(old, at, &theirs, 8), 0);
	other = shmx_self(b);
	assert_int_equal(shmx_own_transfer(old, at, &other, 1, &e), 0);
	assert_int_equal(e, 5);
	assert_int_equal(shmx_write(old, at, &bad, 8), -EACCES);
	assert_int_equal(shmx_write(b, at, &mine, 8), 0);
	assert_int_equal(shmx_read(ctx, at, &v, 8), 0);
	assert_int_equal(v, mine);
	shmx_close(old);
	shmx_close(b);

	/* The last owner left: shared again, and anyone may release it. */
	for (int i = 0; i < 100; i++) {
		int owner;

		if (!shmx_own_epoch(ctx, at, &e, &owner) && e == 6)
			break;
		usleep(50000);
	}
	assert_int_equal(e, 6);
	assert_int_equal(shmx_release(ctx, at), 0);
	assert_int_equal(shmx_release(ctx, next), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
}

/* A transfer that spans two blocks is split at their boundary. */
static void test_transfer_across_blocks(void **state)
{
	static uint8_t out[8192], in[8192];
	struct shmx_pool *p;
	shmx_gaddr_t a, b;

	assert_int_equal(shmx_pool_open(ctx, "p-span", 1 << 20, SHMX_CREAT, &p),
			 0);
	assert_int_equal(shmx_alloc(p, 4096, 0, &a), 0);
	assert_int_equal(shmx_alloc(p, 4096, 0, &b), 0);
	assert_int_equal(b, a + 4096);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 11 + 3);
	assert_int_equal(shmx_write(ctx, a + 100, out, 8000), 0);
	assert_int_equal(shmx_read(ctx, a + 100, in, 8000), 0);
	assert_memory_equal(in, out, 8000);
	/* Past the second block: no key for the rest, nothing written. */
	assert_int_equal(shmx_write(ctx, b + 4000, out, 200), -EFAULT);
	assert_int_equal(shmx_release(ctx, a), 0);
	assert_int_equal(shmx_release(ctx, b), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
}

/* Listings walk every pool and block, with what the node knows of each. */
static void test_listings(void **state)
{
	struct shmx_pool *p, *q;
	struct shmx_pool_info pi;
	struct shmx_block_info bi;
	shmx_node_t me = shmx_self(ctx);
	shmx_gaddr_t a, b, c;
	int pools = 0, seen = 0;

	assert_int_equal(
		shmx_pool_open(ctx, "p-list-1", 1 << 20, SHMX_CREAT, &p), 0);
	assert_int_equal(
		shmx_pool_open(ctx, "p-list-2", 64 << 10, SHMX_CREAT, &q), 0);
	assert_int_equal(shmx_alloc(p, 100, 0, &a), 0);
	assert_int_equal(shmx_alloc(p, 4096, 4096, &b), 0);
	assert_int_equal(shmx_alloc(q, 8, 0, &c), 0);
	assert_int_equal(shmx_own(ctx, b, &me, 1, NULL), 0);

	for (uint64_t from = 0; shmx_pool_next(ctx, from, &pi) == 0;
	     from = pi.id + 1) {
		pools++;
		if (!strcmp(pi.name, "p-list-1")) {
			assert_int_equal(pi.size, 1 << 20);
			assert_int_equal(pi.nr_alloc, 2);
			assert_int_equal(pi.creator, me);
			assert_int_equal(pi.open_count, 1);
			assert_int_equal(pi.free, (1 << 20) - 104 - 4096);
			seen |= 1;
		}
		if (!strcmp(pi.name, "p-list-2")) {
			assert_int_equal(pi.nr_alloc, 1);
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	assert_true(pools >= 2);
	seen = 0;
	for (shmx_gaddr_t from = 0; shmx_block_next(ctx, from, &bi) == 0;
	     from = bi.start + 1) {
		if (bi.start == a) {
			assert_int_equal(bi.len, 104);
			assert_int_equal(bi.nr_owners, 0);
			assert_int_equal(bi.epoch, 1);
			assert_int_equal(bi.creator, me);
			assert_int_equal(bi.holder, me);
			seen |= 1;
		} else if (bi.start == b) {
			assert_int_equal(bi.nr_owners, 1);
			assert_int_equal(bi.owners[0], me);
			assert_int_equal(bi.epoch, 2);
			seen |= 2;
		} else if (bi.start == c) {
			seen |= 4;
		}
	}
	assert_int_equal(seen, 7);
	assert_int_equal(shmx_pool_next(ctx, UINT64_MAX, &pi), -ENOENT);
	assert_int_equal(shmx_block_next(ctx, UINT64_MAX, &bi), -ENOENT);
	assert_int_equal(shmx_pool_next(ctx, 0, NULL), -EINVAL);
	assert_int_equal(shmx_release(ctx, a), 0);
	assert_int_equal(shmx_release(ctx, b), 0);
	assert_int_equal(shmx_release(ctx, c), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
	assert_int_equal(shmx_pool_destroy(q), 0);
}

/* Blocks outlive the member that allocated them; then anyone frees them. */
static int leave_a_block(int fd, void *arg)
{
	const struct node_proc *n = arg;
	struct shmx_pool *p;
	struct shmx_ctx *c;
	shmx_gaddr_t at;
	uint64_t v = 0xfeedull;

	if (client_open(n, "leaver", 0, &c) ||
	    shmx_pool_open(c, "p-left", 0, 0, &p) ||
	    shmx_alloc(p, 64, 0, &at) || shmx_write(c, at, &v, 8) ||
	    write(fd, &at, sizeof(at)) != sizeof(at))
		return 1;
	/* Die without closing anything: the node notices and cleans up. */
	_exit(0);
}

static void test_blocks_outlive_their_allocator(void **state)
{
	struct shmx_pool *p;
	struct shmx_pool_stat st;
	shmx_gaddr_t at;
	uint64_t v = 0;
	int sv[2];
	pid_t pid;

	assert_int_equal(shmx_pool_open(ctx, "p-left", 1 << 20, SHMX_CREAT, &p),
			 0);
	assert_int_equal(pipe(sv), 0);
	pid = spawn_client(leave_a_block, sv[1], &node);
	close(sv[1]);
	assert_int_equal(reap(pid, 30), 0);
	assert_int_equal(read(sv[0], &at, sizeof(at)), sizeof(at));
	close(sv[0]);
	assert_int_equal(shmx_read(ctx, at, &v, 8), 0);
	assert_int_equal(v, 0xfeedull);
	stat_of(p, &st);
	assert_int_equal(st.nr_alloc, 1);
	/* Its allocator may still come back: nobody else frees it yet. */
	assert_int_equal(shmx_release(ctx, at), -EPERM);
	/* Once the node has seen it die (client timeout: 3 s here, 10 s
	 * across VMs), anyone may. */
	for (int i = 0; i < 400; i++) {
		shmx_node_t id;

		if (shmx_lookup(ctx, "leaver", &id) == -ENOENT)
			break;
		usleep(50000);
	}
	assert_int_equal(shmx_read(ctx, at, &v, 8), 0);
	assert_int_equal(v, 0xfeedull);
	assert_int_equal(shmx_release(ctx, at), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
}

/*
 * A writer that keeps writing a block while its owner set changes under
 * it: many of its writes go out with a key the node has just revoked (the
 * REVOKE is still on its way), which verbs and libfabric's tcp answer by
 * ending the writer's connection.  The writer's context must go on:
 * every write succeeds, is refused (-EACCES, while the block is owned by
 * another), or, rarely, meets a broken connection three times in a row
 * (-ECONNRESET); never a lost context.
 */
#define RACE_WRITES 3000
/* At most this long (across VMs each broken connection costs a new queue
 * pair, 0.1 to 0.2 s under emulation). */
#define RACE_SECONDS 10

static int race_writer(int fd, void *arg)
{
	unsigned ok = 0, refused = 0, reset = 0;
	struct shmx_ctx *c;
	shmx_gaddr_t at;
	uint64_t v = 0;
	char done = 1;
	time_t end;
	int ret;

	if (client_open(arg, "racer", 0, &c) ||
	    read(fd, &at, sizeof(at)) != sizeof(at))
		return 1;
	end = time(NULL) + RACE_SECONDS;
	for (uint64_t i = 1; i <= RACE_WRITES && time(NULL) < end; i++) {
		ret = shmx_write(c, at, &i, sizeof(i));
		if (!ret)
			ok++;
		else if (ret == -EACCES)
			refused++;
		else if (ret == -ECONNRESET)
			reset++;
		else {
			fprintf(stderr, "racer: write %llu: %s\n",
				(unsigned long long)i, shmx_strerror(ret));
			return 2;
		}
	}
	/* Still a member, and the memory says what it was last told. */
	ret = shmx_read(c, at, &v, sizeof(v));
	fprintf(stderr, "racer: %u written, %u refused, %u reset\n", ok,
		refused, reset);
	if (ret || !ok || write(fd, &done, 1) != 1)
		return 3;
	return shmx_close(c) ? 4 : 0;
}

static void test_writer_races_ownership(void **state)
{
	const char *prov = getenv("SHMEXT_PROVIDER");
	const char *xp = getenv("SHMEXT_TRANSPORT");
	struct shmx_pool *p;
	shmx_node_t me = shmx_self(ctx);
	shmx_gaddr_t at;
	int sv[2], flips = 0, status = 0;
	char done = 0;
	pid_t pid;

	/* libfabric 1.17's rxm over verbs gives a broken connection back
	 * when asked for a new one: a refused key ends the context there
	 * (docs/memory.md).  The verbs transport and tcp run this. */
	if (xp && !strcmp(xp, "ofi") && prov && strstr(prov, "verbs")) {
		print_message("skipped: rxm over verbs cannot reconnect\n");
		skip();
	}
	assert_int_equal(shmx_pool_open(ctx, "p-race", 1 << 16, SHMX_CREAT, &p),
			 0);
	assert_int_equal(shmx_alloc(p, 64, 0, &at), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = spawn_client(race_writer, sv[1], &node);
	close(sv[1]);
	assert_int_equal(write(sv[0], &at, sizeof(at)), sizeof(at));
	/* Own and disown until the writer is done (bounded by reap's 120 s). */
	while (recv(sv[0], &done, 1, MSG_DONTWAIT) != 1) {
		if (shmx_own(ctx, at, &me, 1, NULL) == 0)
			flips++;
		usleep(300);
		assert_int_equal(shmx_disown(ctx, at, NULL), 0);
		usleep(300);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* It may have said it was done and exited since the
			 * recv above: ask once more. */
			if (recv(sv[0], &done, 1, MSG_DONTWAIT) != 1 ||
			    !WIFEXITED(status) || WEXITSTATUS(status))
				fail_msg("the writer ended before it was done "
					 "(status %#x)",
					 status);
			pid = -1;
			break;
		}
	}
	close(sv[0]);
	if (pid > 0)
		assert_int_equal(reap(pid, 120), 0);
	assert_true(done == 1 && flips > 0);
	assert_int_equal(shmx_release(ctx, at), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
}

static void test_bad_arguments(void **state)
{
	struct shmx_pool *p;
	struct shmx_pool_stat st;
	shmx_gaddr_t at;
	uint64_t e;

	assert_int_equal(shmx_pool_open(NULL, "x", 8, SHMX_CREAT, &p), -EINVAL);
	assert_int_equal(shmx_pool_open(ctx, NULL, 8, SHMX_CREAT, &p), -EINVAL);
	assert_int_equal(shmx_pool_open(ctx, "x", 8, SHMX_CREAT, NULL),
			 -EINVAL);
	assert_int_equal(shmx_pool_open(ctx, "x", 8, 0x100, &p), -EINVAL);
	assert_int_equal(shmx_pool_stat(NULL, &st), -EINVAL);
	assert_int_equal(shmx_alloc(NULL, 8, 0, &at), -EINVAL);
	assert_int_equal(shmx_release(NULL, 0), -EINVAL);
	assert_int_equal(shmx_own(ctx, 0, NULL, 1, &e), -EINVAL);
	assert_int_equal(shmx_own_epoch(ctx, 0, NULL, NULL), -EINVAL);
	assert_int_equal(shmx_pool_close(NULL), -EINVAL);
	assert_int_equal(shmx_pool_destroy(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_create_stat),
		cmocka_unit_test(test_sizes_and_alignment),
		cmocka_unit_test(test_bad_release),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_processes_never_share_a_byte),
		cmocka_unit_test(test_ownership),
		cmocka_unit_test(test_ownership_enforced),
		cmocka_unit_test(test_transfer_across_blocks),
		cmocka_unit_test(test_listings),
		cmocka_unit_test(test_blocks_outlive_their_allocator),
		cmocka_unit_test(test_writer_races_ownership),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
