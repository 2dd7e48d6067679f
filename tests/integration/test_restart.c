/* SPDX-License-Identifier: MIT */
/*
 * test_restart.c - a client goes on by itself when its node goes away for
 * a while: shmnode stopped (SIGSTOP) and continued, the same process
 * answering again; shmnode killed (SIGKILL) and started again on its
 * backing file, a new process with the same memory and metadata; and a
 * node that does not come back within SHMEXT_RECONNECT_MS, where the
 * context is lost with -ENOTCONN in bounded time.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define NBLOCKS 4
#define SEG_SIZE 65536

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The bytes block @i of a test holds: a pattern of its own per round. */
static void pattern(uint8_t *buf, size_t len, unsigned i, unsigned round)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(k * 7 + i * 31 + round * 101 + 1);
}

static void check_pattern(struct shmx_ctx *ctx, shmx_gaddr_t at, size_t len,
			  unsigned i, unsigned round)
{
	uint8_t *want = malloc(len), *got = malloc(len);

	assert_non_null(want);
	assert_non_null(got);
	pattern(want, len, i, round);
	assert_int_equal(shmx_read(ctx, at, got, len), 0);
	assert_memory_equal(got, want, len);
	free(want);
	free(got);
}

static void put_pattern(struct shmx_ctx *ctx, shmx_gaddr_t at, size_t len,
			unsigned i, unsigned round)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	pattern(buf, len, i, round);
	assert_int_equal(shmx_write(ctx, at, buf, len), 0);
	free(buf);
}

/* Take and give back @lock once, checking the hold in between. */
static void lock_cycle(struct shmx_lock *lock)
{
	uint64_t fence;

	assert_int_equal(
		shmx_lock_acquire(lock, SHMX_LOCK_EXCLUSIVE, 3000, &fence), 0);
	assert_int_equal(shmx_lock_check(lock, fence), 0);
	assert_int_equal(shmx_lock_release(lock), 0);
}

/* The node this member is, as the node's registry has it. */
static shmx_node_t registered_id(struct shmx_ctx *ctx, const char *name)
{
	shmx_node_t id = 0;

	assert_int_equal(shmx_lookup(ctx, name, &id), 0);
	return id;
}

struct cont_arg {
	struct node_proc n; /* a copy: the thread may outlive a failed test */
	int ms;
};

/* Continue a stopped node after a while (the test's thread is blocked in
 * a call meanwhile). */
static void *cont_later(void *arg)
{
	const struct cont_arg *c = arg;
	struct timespec ts = { c->ms / 1000, (c->ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	node_signal(&c->n, SIGCONT);
	return NULL;
}

/*
 * shmnode stopped for three times the context's timeout: a write made
 * meanwhile waits for it and completes, and the session goes on with the
 * same node id, keys, blocks and lock (RESUME finds the same start of
 * shmnode and changes nothing).
 */
static void test_node_stopped_and_continued(void **state)
{
	static const char *const args[] = {
		"--size",	    "16M",   "--heartbeat", "200",
		"--client-timeout", "15000", NULL
	};
	static struct cont_arg c = { .ms = 3000 };
	struct shmx_block_info bi;
	struct shmx_ctx *ctx;
	struct shmx_lock *lock;
	struct node_proc n;
	shmx_gaddr_t at;
	pthread_t th;
	shmx_node_t id;
	uint64_t v = 0;
	double t0;

	(void)state;
	assert_int_equal(setenv("SHMEXT_RECONNECT_MS", "10000", 1), 0);
	assert_int_equal(node_start(&n, args), 0);
	assert_int_equal(client_open(&n, "stopped", 1000, &ctx), 0);
	id = registered_id(ctx, "stopped");
	assert_int_equal(scratch_alloc(ctx, 4096, &at), 0);
	put_pattern(ctx, at, 4096, 0, 0);
	assert_int_equal(shmx_lock_reserve(ctx, "stopped-lock", &lock), 0);
	lock_cycle(lock);

	c.n = n;
	assert_int_equal(node_signal(&n, SIGSTOP), 0);
	assert_int_equal(pthread_create(&th, NULL, cont_later, &c), 0);
	t0 = now_s();
	/* Blocks until the node runs again: past the context's timeout
	 * (1 s), within the reconnect window.  The write waits for the node's
	 * CPU over libfabric's tcp provider; over verbs the NIC serves it
	 * (the kernel's rxe on the node's host), so the request after it (a
	 * listing: the root and the registry are read one-sidedly) is the
	 * one that waits. */
	put_pattern(ctx, at, 4096, 0, 1);
	assert_int_equal(shmx_block_next(ctx, 0, &bi), 0);
	assert_true(now_s() - t0 > 2.0);
	assert_true(now_s() - t0 < 8.0);
	pthread_join(th, NULL);

	check_pattern(ctx, at, 4096, 0, 1);
	assert_int_equal(shmx_fadd64(ctx, at, 5, &v), 0);
	assert_int_equal(shmx_fadd64(ctx, at, 0, &v), 0);
	assert_int_equal(registered_id(ctx, "stopped"), id);
	assert_int_equal(shmx_self(ctx), id);
	lock_cycle(lock);

	assert_int_equal(shmx_lock_unreserve(lock), 0);
	assert_int_equal(shmx_close(ctx), 0);
	assert_int_equal(node_stop(&n), 0);
}

/*
 * shmnode killed with SIGKILL and started again with the same arguments
 * (--backing): the same context reads its blocks and its segment back,
 * writes its owned block, allocates more without overlapping the old
 * blocks, and takes its lock, under the same node id.
 */
static void test_node_restarts_under_client(void **state)
{
	char backing[96], rm[128];
	const char *args[] = {
		"--size", "32M",       "--heartbeat", "200", "--client-timeout",
		"5000",	  "--backing", backing,	      NULL
	};
	shmx_gaddr_t blk[2 * NBLOCKS], segat;
	uint64_t size[2 * NBLOCKS], v = 0;
	struct shmx_ctx *ctx;
	struct shmx_pool *pool;
	struct shmx_seg *seg;
	struct shmx_lock *lock;
	struct node_proc n;
	shmx_node_t id;

	(void)state;
	/* libfabric's rxm over verbs (1.17) keeps a connection whose queue
	 * pair broke, and gives the same one back when asked again
	 * (docs/memory.md): a context there does not survive its node's
	 * restart reliably.  The verbs transport (RDMA hardware, soft-RoCE)
	 * and rxm over tcp do. */
	if (getenv("SHMEXT_PROVIDER") &&
	    !strncmp(getenv("SHMEXT_PROVIDER"), "verbs", 5) &&
	    getenv("SHMEXT_TRANSPORT") &&
	    !strcmp(getenv("SHMEXT_TRANSPORT"), "ofi")) {
		print_message("skipped: a restart under libfabric's "
			      "verbs;ofi_rxm\n");
		return;
	}
	assert_int_equal(setenv("SHMEXT_RECONNECT_MS", "10000", 1), 0);
	/* A port of its own first, then the node on its files there. */
	assert_int_equal(node_start(&n, NULL), 0);
	node_kill(&n);
	/* A file of its own in /tmp of the node's host (in remote mode the
	 * node VM's, which goes with the VM). */
	snprintf(backing, sizeof(backing), "/tmp/shmx-restart-%u.mem", n.port);
	snprintf(rm, sizeof(rm), "rm -f %s %s.journal", backing, backing);
	(void)!system(rm);
	assert_int_equal(node_restart(&n, args), 0);

	assert_int_equal(client_open(&n, "restarter", 2000, &ctx), 0);
	id = registered_id(ctx, "restarter");
	assert_int_equal(
		shmx_pool_open(ctx, "restart-pool", 1 << 20, SHMX_CREAT, &pool),
		0);
	for (unsigned i = 0; i < NBLOCKS; i++) {
		size[i] = 4096 + 1000 * i;
		assert_int_equal(shmx_alloc(pool, size[i], 0, &blk[i]), 0);
		put_pattern(ctx, blk[i], size[i], i, 0);
	}
	/* Block 0 is this member's alone: only it may write there. */
	assert_int_equal(shmx_own(ctx, blk[0], &id, 1, NULL), 0);
	assert_int_equal(shmx_seg_open(ctx, "restart-seg", SEG_SIZE, SHMX_CREAT,
				       0600, &seg),
			 0);
	segat = shmx_seg_addr(seg);
	put_pattern(ctx, segat, SEG_SIZE, 99, 0);
	assert_int_equal(shmx_lock_reserve(ctx, "restart-lock", &lock), 0);
	lock_cycle(lock);

	node_kill(&n);
	assert_int_equal(node_restart(&n, args), 0);

	/* The same context goes on. */
	for (unsigned i = 0; i < NBLOCKS; i++)
		check_pattern(ctx, blk[i], size[i], i, 0);
	check_pattern(ctx, segat, SEG_SIZE, 99, 0);
	assert_int_equal(registered_id(ctx, "restarter"), id);
	assert_int_equal(shmx_self(ctx), id);
	for (unsigned i = 0; i < NBLOCKS; i++) {
		put_pattern(ctx, blk[i], size[i], i, 1);
		check_pattern(ctx, blk[i], size[i], i, 1);
	}
	put_pattern(ctx, segat, SEG_SIZE, 99, 1);
	check_pattern(ctx, segat, SEG_SIZE, 99, 1);
	assert_int_equal(shmx_fadd64(ctx, blk[1], 3, &v), 0);
	for (unsigned i = NBLOCKS; i < 2 * NBLOCKS; i++) {
		size[i] = 8192;
		assert_int_equal(shmx_alloc(pool, size[i], 0, &blk[i]), 0);
		for (unsigned j = 0; j < i; j++)
			assert_true(blk[i] + size[i] <= blk[j] ||
				    blk[j] + size[j] <= blk[i]);
		put_pattern(ctx, blk[i], size[i], i, 2);
		check_pattern(ctx, blk[i], size[i], i, 2);
	}
	lock_cycle(lock);
	assert_true(node_log_contains(&n, "restarter"));

	assert_int_equal(shmx_lock_unreserve(lock), 0);
	assert_int_equal(shmx_seg_close(seg), 0);
	for (unsigned i = 0; i < 2 * NBLOCKS; i++)
		assert_int_equal(shmx_release(ctx, blk[i]), 0);
	assert_int_equal(shmx_pool_close(pool), 0);
	assert_int_equal(shmx_close(ctx), 0);
	assert_int_equal(node_stop(&n), 0);
	(void)!system(rm);
}

/*
 * A node that does not come back: the call that finds it gone waits the
 * reconnect window (1.5 s here) and fails with -ENOTCONN, and every later
 * call at once.
 */
static void test_node_gone_past_window(void **state)
{
	static const char *const args[] = { "--size", "8M", "--heartbeat",
					    "200", NULL };
	struct shmx_ctx *ctx;
	struct node_proc n;
	shmx_gaddr_t at;
	uint64_t v = 0;
	double t0, t;
	int ret = 0;

	(void)state;
	assert_int_equal(setenv("SHMEXT_RECONNECT_MS", "1500", 1), 0);
	assert_int_equal(node_start(&n, args), 0);
	assert_int_equal(client_open(&n, "orphan", 1000, &ctx), 0);
	assert_int_equal(scratch_alloc(ctx, 8, &at), 0);
	node_kill(&n);
	t0 = now_s();
	for (int i = 0; i < 1000 && !ret; i++)
		ret = shmx_read(ctx, at, &v, 8);
	t = now_s() - t0;
	assert_int_equal(ret, -ENOTCONN);
	/* The window from when the node was found gone, plus at most one
	 * timeout of the context for the last try. */
	assert_true(t >= 1.4);
	assert_true(t < 5.0);
	t0 = now_s();
	assert_int_equal(shmx_read(ctx, at, &v, 8), -ENOTCONN);
	assert_int_equal(shmx_root_set(ctx, 0), -ENOTCONN);
	assert_true(now_s() - t0 < 0.5);
	shmx_close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_stopped_and_continued),
		cmocka_unit_test(test_node_restarts_under_client),
		cmocka_unit_test(test_node_gone_past_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
