/* SPDX-License-Identifier: MIT */
/*
 * test_growth.c - the memory's extents against a real shmnode and real
 * client processes: the map and the header a client finds at connect,
 * growing while other processes run (they take the new map in from the
 * MAP event and use the new memory without reconnecting), shrinking only
 * free memory off the top, who may resize, the root and the map found by
 * a client that starts later, the member registry read from the header,
 * shmnode's admin socket (local mode only), and bad arguments.
 *
 * The tests run in order on one node and each starts from the state the
 * one before left.  Client processes talk to the test over a socketpair
 * (their index is their end of it); every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
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

#define MiB ((uint64_t)1 << 20)
#define NODE_SIZE (8 * MiB) /* --size */
#define GROW_SIZE (32 * MiB)
#define POOL_SIZE (24 * MiB) /* fits only in a grown extent */
#define BLOCK_SIZE ((uint64_t)64 << 10)
#define NKIDS 3
#define OTHER_ID 4242	 /* a uid and gid that may not resize */
#define WAIT_MS 10000	 /* the longest any step waits for another */
#define MAP_WAIT_MS 5000 /* for a MAP event to be taken in */

static struct node_proc node;
static struct shmx_ctx *ctx;
static char tmpdir[64];	     /* local mode: holds the admin socket */
static char admin_sock[128]; /* "" in remote mode */
static int client_timeout_ms;
static uint64_t hdr_size;      /* from the header, test_connect */
static shmx_gaddr_t grown;     /* the grown extent's base */
static struct shmx_pool *pool; /* test_grow's pool, for test_shrink */
static shmx_gaddr_t block2;    /* test_shrink's block in the regrown extent */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

/* --- messages between the test and its client processes ------------- */

enum tag {
	M_INDEX = 1, /* v[0] = index */
	M_READY,     /* v[0] = node id */
	M_GO,	     /* step-specific values */
	M_ADDR,	     /* v[0] = a block's address */
	M_ALL,	     /* v[0..NKIDS-1] = every child's block */
	M_OK,
	M_FINISH,
	M_EXPECT, /* test_root_and_map: what a new client must find */
};

struct msg {
	uint64_t tag;
	uint64_t v[19];
};

static int msg_send(int fd, uint64_t tag, const uint64_t *v, int n)
{
	struct msg m = { .tag = tag };

	for (int i = 0; i < n && i < 19; i++)
		m.v[i] = v[i];
	return write(fd, &m, sizeof(m)) == (ssize_t)sizeof(m) ? 0 : -1;
}

/* The next message, which must be @tag, within @timeout_ms.  0 or -1. */
static int msg_recv(int fd, uint64_t tag, struct msg *m, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	size_t got = 0;

	while (got < sizeof(*m)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ms();
		ssize_t n;

		if (now >= end || poll(&p, 1, (int)(end - now)) != 1)
			return -1;
		n = read(fd, (char *)m + got, sizeof(*m) - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return m->tag == tag ? 0 : -1;
}

/* The client processes a test started and has not reaped. */
static struct kid {
	pid_t pid;
	int fd; /* the test's end of its socketpair */
} kids[8];

/*
 * Start a client process running @fn with its end of a new socketpair as
 * its index; it is told @index first.  Returns the slot in kids[].
 */
static int kid_start(int (*fn)(int, void *), uint64_t index)
{
	int sv[2], k;

	for (k = 0; k < 8 && kids[k].pid; k++)
		;
	assert_true(k < 8);
	/* Only the child's end survives its exec. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_int_equal(fcntl(sv[1], F_SETFD, 0), 0);
	assert_int_equal(msg_send(sv[0], M_INDEX, &index, 1), 0);
	kids[k].pid = spawn_client(fn, sv[1], &node);
	close(sv[1]);
	assert_true(kids[k].pid > 0);
	kids[k].fd = sv[0];
	return k;
}

static void kid_send(int k, uint64_t tag, const uint64_t *v, int n)
{
	assert_int_equal(msg_send(kids[k].fd, tag, v, n), 0);
}

static void kid_recv(int k, uint64_t tag, struct msg *m)
{
	struct msg tmp;

	assert_int_equal(msg_recv(kids[k].fd, tag, m ? m : &tmp, WAIT_MS), 0);
}

/* Wait for kid @k to end; its exit status (0 = success). */
static int kid_reap(int k)
{
	int st = reap(kids[k].pid, WAIT_MS / 1000);

	if (st < 0) {
		kill(kids[k].pid, SIGKILL);
		waitpid(kids[k].pid, NULL, 0);
	}
	close(kids[k].fd);
	kids[k].pid = 0;
	return st;
}

/* After every test: no client process outlives it. */
static int kids_cleanup(void **state)
{
	for (int k = 0; k < 8; k++) {
		if (!kids[k].pid)
			continue;
		kill(kids[k].pid, SIGKILL);
		waitpid(kids[k].pid, NULL, 0);
		close(kids[k].fd);
		kids[k].pid = 0;
	}
	return 0;
}

/*
 * Poll @c's map until it has @n extents, the last at @last_base (or
 * anywhere: SHMX_GADDR_NULL), within @timeout_ms.  Fills @ext (up to 8)
 * and @gen.  0, or -ETIMEDOUT, or shmx_extents's error.
 */
static int wait_map(struct shmx_ctx *c, size_t n, shmx_gaddr_t last_base,
		    struct shmx_extent *ext, uint64_t *gen, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	size_t count;
	int ret;

	for (;;) {
		ret = shmx_extents(c, ext, 8, &count, gen);
		if (ret)
			return ret;
		if (count == n && (last_base == SHMX_GADDR_NULL ||
				   ext[n - 1].base == last_base))
			return 0;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
}

/* --- setup ------------------------------------------------------------ */

static int group_setup(void **state)
{
	const char *args[16];
	char timeout[16];
	int n = 0;

	/* Short timeouts locally; emulated RDMA between VMs stalls for
	 * seconds at times, so a remote node is given more. */
	client_timeout_ms = test_remote() ? 5000 : 1000;
	snprintf(timeout, sizeof(timeout), "%d", client_timeout_ms);
	args[n++] = "--size";
	args[n++] = "8M";
	args[n++] = "--client-timeout";
	args[n++] = timeout;
	args[n++] = "--heartbeat";
	args[n++] = test_remote() ? "500" : "200";
	if (!test_remote()) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/shmx-growth-XXXXXX");
		if (!mkdtemp(tmpdir))
			return -1;
		snprintf(admin_sock, sizeof(admin_sock), "%s/admin.sock",
			 tmpdir);
		args[n++] = "--admin-socket";
		args[n++] = admin_sock;
	}
	args[n] = NULL;
	if (node_start(&node, args))
		return -1;
	return client_open(&node, "test-growth", 0, &ctx);
}

static int group_teardown(void **state)
{
	int ret;

	kids_cleanup(state);
	shmx_close(ctx);
	ret = node_stop(&node);
	if (tmpdir[0]) {
		unlink(admin_sock);
		rmdir(tmpdir);
	}
	return ret == 0 ? 0 : -1;
}

/* --- 1. what a client finds at connect ------------------------------- */

static void test_connect(void **state)
{
	struct shmx_extent ext[4];
	struct shmx_info info;
	struct shmx_ctx *fresh;
	uint8_t hdr[80], again[80], junk[16] = { 0 };
	shmx_gaddr_t root;
	uint64_t gen;
	size_t n;

	assert_int_equal(client_open(&node, "g-fresh", 0, &fresh), 0);
	assert_int_equal(shmx_extents(fresh, ext, 4, &n, &gen), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ext[0].base, 0);
	assert_int_equal(ext[0].len, NODE_SIZE);
	assert_true(gen >= 1);
	assert_int_equal(shmx_info(fresh, &info), 0);
	assert_int_equal(info.region_size, NODE_SIZE);
	assert_int_equal(shmx_root_get(fresh, &root), 0);
	assert_int_equal(root, SHMX_GADDR_NULL);

	/* The header area at gaddr 0, readable by every member. */
	assert_int_equal(shmx_read(fresh, 0, hdr, 16), 0);
	assert_memory_equal(hdr + 8, "SMXH", 4);
	assert_int_equal(shmx_read(fresh, 0, hdr, sizeof(hdr)), 0);
	assert_int_equal(le32(hdr + 12), 2);	      /* layout */
	assert_int_equal(le64(hdr + 16), gen);	      /* generation */
	assert_int_equal(le64(hdr + 24), UINT64_MAX); /* root: none */
	assert_int_equal(le64(hdr + 32), NODE_SIZE);  /* total */
	hdr_size = le64(hdr + 40);
	assert_true(hdr_size > 0 && hdr_size < NODE_SIZE);
	assert_int_equal(hdr_size % (64 << 10), 0);
	assert_int_equal(le32(hdr + 52), 1); /* extents */
	assert_int_equal(le64(hdr + 56), 0);
	assert_int_equal(le64(hdr + 64), NODE_SIZE);
	/* ... and read-only: nothing changes. */
	assert_int_equal(shmx_write(fresh, 0, junk, 16), -EACCES);
	assert_int_equal(shmx_write(fresh, 4096, junk, 8), -EACCES);
	assert_int_equal(shmx_fadd64(fresh, 16, 1, NULL), -EACCES);
	assert_int_equal(shmx_read(fresh, 0, again, sizeof(again)), 0);
	assert_memory_equal(again, hdr, sizeof(hdr));
	/* Past the end of the memory. */
	assert_int_equal(shmx_read(fresh, NODE_SIZE, hdr, 8), -EFAULT);
	assert_int_equal(shmx_read(fresh, NODE_SIZE - 4, hdr, 8), -EFAULT);

	/* The long-lived context sees the same. */
	assert_int_equal(shmx_extents(ctx, ext, 4, &n, &gen), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ext[0].len, NODE_SIZE);
	assert_int_equal(shmx_close(fresh), 0);
}

/* --- 2. growing while client processes run ---------------------------- */

/*
 * Connect and report; on GO {base, len, total} wait for the new extent
 * in the map (no other call first), use the pool in it: a block of its
 * own with pattern @index, every other child's block read back.
 */
static int grow_child(int fd, void *arg)
{
	static uint8_t buf[BLOCK_SIZE], want[BLOCK_SIZE];
	struct shmx_extent ext[8];
	struct shmx_info info;
	struct shmx_pool *p;
	struct shmx_ctx *c;
	shmx_gaddr_t mine;
	struct msg m;
	char name[32];
	uint64_t gen, v, index;
	size_t n;

	CHECK(msg_recv(fd, M_INDEX, &m, WAIT_MS) == 0);
	index = m.v[0];
	snprintf(name, sizeof(name), "g-grow-%d", (int)index);
	CHECK(client_open(arg, name, 0, &c) == 0);
	CHECK(shmx_extents(c, ext, 8, &n, &gen) == 0);
	CHECK(n == 1 && ext[0].len == NODE_SIZE);
	v = shmx_self(c);
	CHECK(msg_send(fd, M_READY, &v, 1) == 0);

	CHECK(msg_recv(fd, M_GO, &m, WAIT_MS) == 0);
	CHECK(wait_map(c, 2, m.v[0], ext, &gen, MAP_WAIT_MS) == 0);
	CHECK(ext[0].base == 0 && ext[0].len == NODE_SIZE);
	CHECK(ext[1].len == m.v[1]);
	CHECK(shmx_info(c, &info) == 0);
	CHECK(info.region_size == m.v[2]);

	/* The new memory, used at once. */
	CHECK(shmx_pool_open(c, "g-pool", 0, 0, &p) == 0);
	CHECK(shmx_alloc(p, BLOCK_SIZE, 0, &mine) == 0);
	CHECK(mine >= ext[1].base &&
	      mine + BLOCK_SIZE <= ext[1].base + ext[1].len);
	pattern(buf, sizeof(buf), (unsigned)index);
	CHECK(shmx_write(c, mine, buf, sizeof(buf)) == 0);
	CHECK(msg_send(fd, M_ADDR, &mine, 1) == 0);

	CHECK(msg_recv(fd, M_ALL, &m, WAIT_MS) == 0);
	for (unsigned j = 0; j < NKIDS; j++) {
		pattern(want, sizeof(want), j);
		CHECK(shmx_read(c, m.v[j], buf, sizeof(buf)) == 0);
		CHECK(memcmp(buf, want, sizeof(buf)) == 0);
	}
	CHECK(msg_send(fd, M_OK, NULL, 0) == 0);

	CHECK(msg_recv(fd, M_FINISH, &m, WAIT_MS) == 0);
	CHECK(shmx_release(c, mine) == 0);
	CHECK(shmx_pool_close(p) == 0);
	CHECK(shmx_close(c) == 0);
	return 0;
}

static void test_grow_while_clients_run(void **state)
{
	static uint8_t buf[BLOCK_SIZE], want[BLOCK_SIZE];
	struct shmx_extent ext[8];
	struct shmx_pool_stat st;
	struct shmx_info info;
	uint64_t gen0, gen, addrs[NKIDS], go[3];
	int k[NKIDS];
	size_t n;

	for (int i = 0; i < NKIDS; i++)
		k[i] = kid_start(grow_child, (uint64_t)i);
	for (int i = 0; i < NKIDS; i++)
		kid_recv(k[i], M_READY, NULL);

	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen0), 0);
	assert_int_equal(n, 1);
	assert_int_equal(shmx_grow(ctx, GROW_SIZE, &grown), 0);
	/* This context holds the new map when the call returns. */
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	assert_int_equal(n, 2);
	assert_true(gen > gen0);
	assert_int_equal(ext[0].base, 0);
	assert_int_equal(ext[0].len, NODE_SIZE);
	assert_int_equal(ext[1].base, grown);
	assert_int_equal(ext[1].len, GROW_SIZE);
	/* Above the last extent, with unmapped addresses between. */
	assert_int_equal(grown, NODE_SIZE + 2 * MiB);
	assert_int_equal(shmx_info(ctx, &info), 0);
	assert_int_equal(info.region_size, NODE_SIZE + GROW_SIZE);
	assert_int_equal(shmx_read(ctx, NODE_SIZE + MiB, buf, 8), -EFAULT);

	/* A pool that only the new extent can hold. */
	assert_int_equal(shmx_pool_open(ctx, "g-pool", POOL_SIZE,
					SHMX_CREAT | SHMX_EXCL, &pool),
			 0);
	assert_int_equal(shmx_pool_stat(pool, &st), 0);
	assert_true(st.base >= grown);
	assert_true(st.base + POOL_SIZE <= grown + GROW_SIZE);

	go[0] = grown;
	go[1] = GROW_SIZE;
	go[2] = NODE_SIZE + GROW_SIZE;
	for (int i = 0; i < NKIDS; i++)
		kid_send(k[i], M_GO, go, 3);
	for (int i = 0; i < NKIDS; i++) {
		struct msg m;

		kid_recv(k[i], M_ADDR, &m);
		addrs[i] = m.v[0];
		assert_true(addrs[i] >= st.base &&
			    addrs[i] + BLOCK_SIZE <= st.base + POOL_SIZE);
	}
	for (int i = 0; i < NKIDS; i++)
		kid_send(k[i], M_ALL, addrs, NKIDS);
	for (int i = 0; i < NKIDS; i++)
		kid_recv(k[i], M_OK, NULL);
	/* And this process reads every child's block too. */
	for (int i = 0; i < NKIDS; i++) {
		pattern(want, sizeof(want), (unsigned)i);
		assert_int_equal(shmx_read(ctx, addrs[i], buf, sizeof(buf)), 0);
		assert_memory_equal(buf, want, sizeof(buf));
	}
	for (int i = 0; i < NKIDS; i++)
		kid_send(k[i], M_FINISH, NULL, 0);
	for (int i = 0; i < NKIDS; i++)
		assert_int_equal(kid_reap(k[i]), 0);
	assert_int_equal(shmx_pool_stat(pool, &st), 0);
	assert_int_equal(st.nr_alloc, 0);
}

/* --- 3. shrinking ----------------------------------------------------- */

/*
 * Connected while the memory has 2 extents; on GO {old base} wait for
 * the map of 1 and find the old addresses gone; on GO {base} wait for the
 * regrown extent there.
 */
static int shrink_child(int fd, void *arg)
{
	struct shmx_extent ext[8];
	struct shmx_info info;
	struct shmx_ctx *c;
	uint64_t gen, word = 1;
	struct msg m;
	size_t n;

	CHECK(msg_recv(fd, M_INDEX, &m, WAIT_MS) == 0);
	CHECK(client_open(arg, NULL, 0, &c) == 0);
	CHECK(shmx_extents(c, ext, 8, &n, &gen) == 0);
	CHECK(n == 2);
	CHECK(msg_send(fd, M_READY, &gen, 1) == 0);

	CHECK(msg_recv(fd, M_GO, &m, WAIT_MS) == 0);
	CHECK(wait_map(c, 1, SHMX_GADDR_NULL, ext, &gen, MAP_WAIT_MS) == 0);
	CHECK(ext[0].base == 0 && ext[0].len == NODE_SIZE);
	CHECK(shmx_info(c, &info) == 0 && info.region_size == NODE_SIZE);
	CHECK(shmx_read(c, m.v[0], &word, 8) == -EFAULT);
	CHECK(shmx_write(c, m.v[0], &word, 8) == -EFAULT);
	CHECK(shmx_read(c, m.v[0] + GROW_SIZE - 8, &word, 8) == -EFAULT);
	CHECK(msg_send(fd, M_OK, &gen, 1) == 0);

	CHECK(msg_recv(fd, M_GO, &m, WAIT_MS) == 0);
	CHECK(wait_map(c, 2, m.v[0], ext, &gen, MAP_WAIT_MS) == 0);
	CHECK(ext[1].len == m.v[1]);
	CHECK(msg_send(fd, M_OK, &gen, 1) == 0);

	CHECK(msg_recv(fd, M_FINISH, &m, WAIT_MS) == 0);
	CHECK(shmx_close(c) == 0);
	return 0;
}

static void test_shrink(void **state)
{
	struct shmx_extent ext[8], before[8];
	struct shmx_ctx *other;
	struct shmx_pool *p2;
	uint64_t gen0, gen, above, v = 0x600d, w = 0;
	shmx_gaddr_t again;
	size_t n, n0;
	int k[2];

	assert_non_null(pool);
	assert_true(hdr_size > 0);
	assert_int_equal(shmx_extents(ctx, before, 8, &n0, &gen0), 0);
	assert_int_equal(n0, 2);

	/* The pool lies there: nothing goes. */
	assert_int_equal(shmx_shrink(ctx, GROW_SIZE), -EBUSY);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	assert_int_equal(n, n0);
	assert_int_equal(gen, gen0);
	assert_memory_equal(ext, before, n0 * sizeof(ext[0]));
	/* More than there is above the header: nothing goes either. */
	above = NODE_SIZE + GROW_SIZE - hdr_size;
	assert_int_equal(shmx_shrink(ctx, above + 4096), -ENOSPC);
	assert_int_equal(shmx_shrink(ctx, (uint64_t)1 << 40), -ENOSPC);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	assert_int_equal(n, n0);
	assert_int_equal(gen, gen0);
	assert_memory_equal(ext, before, n0 * sizeof(ext[0]));

	/* Other members, in this process and in others. */
	assert_int_equal(client_open(&node, "g-other", 0, &other), 0);
	for (int i = 0; i < 2; i++) {
		k[i] = kid_start(shrink_child, (uint64_t)i);
		kid_recv(k[i], M_READY, NULL);
	}

	assert_int_equal(shmx_pool_destroy(pool), 0);
	pool = NULL;
	assert_int_equal(shmx_shrink(ctx, GROW_SIZE), 0);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	assert_int_equal(n, 1);
	assert_true(gen > gen0);
	assert_int_equal(ext[0].len, NODE_SIZE);
	assert_int_equal(shmx_read(ctx, grown, &w, 8), -EFAULT);
	assert_int_equal(shmx_write(ctx, grown, &v, 8), -EFAULT);
	for (int i = 0; i < 2; i++)
		kid_send(k[i], M_GO, &grown, 1);
	assert_int_equal(
		wait_map(other, 1, SHMX_GADDR_NULL, ext, &gen, MAP_WAIT_MS), 0);
	assert_int_equal(shmx_read(other, grown, &w, 8), -EFAULT);
	for (int i = 0; i < 2; i++)
		kid_recv(k[i], M_OK, NULL);

	/* Grow again: a new extent, at an address again. */
	assert_int_equal(shmx_grow(ctx, GROW_SIZE, &again), 0);
	assert_int_equal(again, NODE_SIZE + 2 * MiB);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ext[1].base, again);
	assert_int_equal(ext[1].len, GROW_SIZE);
	{
		uint64_t go[2] = { again, GROW_SIZE };

		for (int i = 0; i < 2; i++)
			kid_send(k[i], M_GO, go, 2);
	}
	for (int i = 0; i < 2; i++)
		kid_recv(k[i], M_OK, NULL);
	assert_int_equal(wait_map(other, 2, again, ext, &gen, MAP_WAIT_MS), 0);
	for (int i = 0; i < 2; i++)
		kid_send(k[i], M_FINISH, NULL, 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(kid_reap(k[i]), 0);

	/* The regrown memory works, from both contexts (this one read
	 * blocks at these addresses before the shrink). */
	assert_int_equal(shmx_pool_open(ctx, "g-pool2", POOL_SIZE,
					SHMX_CREAT | SHMX_EXCL, &p2),
			 0);
	assert_int_equal(shmx_alloc(p2, BLOCK_SIZE, 0, &block2), 0);
	assert_true(block2 >= again && block2 < again + GROW_SIZE);
	assert_int_equal(shmx_write(ctx, block2, &v, 8), 0);
	assert_int_equal(shmx_read(other, block2, &w, 8), 0);
	assert_int_equal(w, v);
	assert_int_equal(shmx_pool_close(p2), 0);
	assert_int_equal(shmx_close(other), 0);
	grown = again;
}

/* --- 4. who may resize -------------------------------------------------- */

static int perm_child(int fd, void *arg)
{
	struct shmx_extent ext[8];
	struct shmx_ctx *c;
	shmx_gaddr_t base = 0;
	uint64_t gen;
	struct msg m;
	size_t n;

	CHECK(msg_recv(fd, M_INDEX, &m, WAIT_MS) == 0);
	CHECK(client_become(OTHER_ID, OTHER_ID) == 0 && getuid() == OTHER_ID);
	CHECK(client_open(arg, "g-nobody", 0, &c) == 0);
	CHECK(shmx_grow(c, 4 << 20, &base) == -EPERM);
	CHECK(shmx_shrink(c, 4096) == -EPERM);
	CHECK(shmx_shrink(c, GROW_SIZE) == -EPERM);
	/* Everything else still works. */
	CHECK(shmx_extents(c, ext, 8, &n, &gen) == 0 && n == 2);
	CHECK(shmx_close(c) == 0);
	return 0;
}

static void test_resize_permission(void **state)
{
	struct shmx_extent ext[8];
	uint64_t gen0, gen;
	size_t n;

	if (geteuid() != 0)
		skip(); /* only root can run clients under other uids */
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen0), 0);
	assert_int_equal(kid_reap(kid_start(perm_child, 0)), 0);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	assert_int_equal(n, 2);
	assert_int_equal(gen, gen0);
}

/* --- 5. a client that starts later finds the root and the map ---------- */

/* EXPECT {root, word at root, generation, n, base0, len0, ...}: what a
 * new context must find, straight after connecting. */
static int map_child(int fd, void *arg)
{
	struct shmx_extent ext[8];
	struct shmx_ctx *c;
	shmx_gaddr_t root;
	uint64_t gen, word = 0;
	struct msg m;
	size_t n;

	CHECK(msg_recv(fd, M_INDEX, &m, WAIT_MS) == 0);
	CHECK(msg_recv(fd, M_EXPECT, &m, WAIT_MS) == 0);
	CHECK(client_open(arg, NULL, 0, &c) == 0);
	CHECK(shmx_extents(c, ext, 8, &n, &gen) == 0);
	CHECK(gen == m.v[2]);
	CHECK(n == m.v[3]);
	for (size_t i = 0; i < n; i++)
		CHECK(ext[i].base == m.v[4 + 2 * i] &&
		      ext[i].len == m.v[5 + 2 * i]);
	CHECK(shmx_root_get(c, &root) == 0);
	CHECK(root == m.v[0]);
	CHECK(shmx_read(c, root, &word, 8) == 0);
	CHECK(word == m.v[1]);
	CHECK(shmx_close(c) == 0);
	return 0;
}

static void expect_map_in_new_client(void)
{
	struct shmx_extent ext[8];
	uint64_t v[19], gen;
	shmx_gaddr_t root;
	size_t n;
	int k;

	assert_int_equal(shmx_root_get(ctx, &root), 0);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	assert_true(n <= 7);
	v[0] = root;
	assert_int_equal(shmx_read(ctx, root, &v[1], 8), 0);
	v[2] = gen;
	v[3] = n;
	for (size_t i = 0; i < n; i++) {
		v[4 + 2 * i] = ext[i].base;
		v[5 + 2 * i] = ext[i].len;
	}
	k = kid_start(map_child, 0);
	kid_send(k, M_EXPECT, v, (int)(4 + 2 * n));
	assert_int_equal(kid_reap(k), 0);
}

static void test_root_and_map(void **state)
{
	struct shmx_extent ext[8];
	shmx_gaddr_t root, root_hdr, third;
	uint64_t v = 0x0123456789abcdefull, gen;
	uint8_t hdr[64];
	size_t n;

	assert_true(block2 >= grown);
	root = block2 + 64;
	assert_int_equal(shmx_write(ctx, root, &v, 8), 0);
	assert_int_equal(shmx_root_set(ctx, root), 0);
	assert_int_equal(shmx_root_get(ctx, &root_hdr), 0);
	assert_int_equal(root_hdr, root);
	assert_int_equal(shmx_read(ctx, 0, hdr, sizeof(hdr)), 0);
	assert_int_equal(le64(hdr + 24), root);
	/* A client process that starts now, and one more after it. */
	expect_map_in_new_client();
	expect_map_in_new_client();

	/* Grown while nobody else was connected: a new client gets the
	 * whole map at connect. */
	assert_int_equal(shmx_grow(ctx, 4 << 20, &third), 0);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ext[2].base, third);
	assert_int_equal(third, grown + GROW_SIZE + 2 * MiB);
	expect_map_in_new_client();
	assert_int_equal(shmx_shrink(ctx, 4 << 20), 0);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	assert_int_equal(n, 2);
	expect_map_in_new_client();

	/* Outside the memory: refused, the root unchanged. */
	assert_int_equal(shmx_root_set(ctx, third), -EFAULT);
	assert_int_equal(shmx_root_set(ctx, NODE_SIZE + MiB), -EFAULT);
	assert_int_equal(shmx_root_get(ctx, &root_hdr), 0);
	assert_int_equal(root_hdr, root);
}

/* --- 6. the member registry in the header ----------------------------- */

static int member_child(int fd, void *arg)
{
	struct shmx_ctx *c;
	struct msg m;
	char name[32];
	uint64_t id;

	CHECK(msg_recv(fd, M_INDEX, &m, WAIT_MS) == 0);
	snprintf(name, sizeof(name), "g-member-%d", (int)m.v[0]);
	CHECK(client_open(arg, name, 0, &c) == 0);
	id = shmx_self(c);
	CHECK(msg_send(fd, M_READY, &id, 1) == 0);
	/* Meanwhile the parent waits for a killed sibling to be timed out
	 * (up to the client timeout + 3 s, 8 s in the VMs, where a loaded
	 * run adds more): longer than one step. */
	CHECK(msg_recv(fd, M_FINISH, &m, 3 * WAIT_MS) == 0);
	CHECK(shmx_close(c) == 0);
	return 0;
}

static void test_members(void **state)
{
	struct shmx_member mem[16];
	shmx_node_t ids[NKIDS], id;
	char name[32];
	size_t n, count;
	int k[NKIDS], found, gone = 0;
	uint64_t end;

	for (int i = 0; i < NKIDS; i++) {
		struct msg m;

		k[i] = kid_start(member_child, (uint64_t)i);
		kid_recv(k[i], M_READY, &m);
		ids[i] = (shmx_node_t)m.v[0];
	}
	assert_int_equal(shmx_members(ctx, NULL, 0, &count), 0);
	assert_int_equal(count, NKIDS + 1);
	assert_int_equal(shmx_members(ctx, mem, 16, &n), 0);
	assert_int_equal(n, NKIDS + 1);
	for (size_t j = 1; j < n; j++)
		assert_true(mem[j].id > mem[j - 1].id);
	found = 0;
	for (size_t j = 0; j < n; j++) {
		assert_int_equal(mem[j].uid, getuid());
		assert_true(mem[j].joined > 0);
		assert_true(mem[j].host[0] != 0);
		if (mem[j].id == shmx_self(ctx)) {
			assert_string_equal(mem[j].name, "test-growth");
			assert_int_equal(mem[j].pid, getpid());
			found++;
		}
		for (int i = 0; i < NKIDS; i++) {
			if (mem[j].id != ids[i])
				continue;
			snprintf(name, sizeof(name), "g-member-%d", i);
			assert_string_equal(mem[j].name, name);
			assert_int_equal(mem[j].pid, kids[k[i]].pid);
			found++;
		}
	}
	assert_int_equal(found, NKIDS + 1);
	/* Fewer slots than members: the first ones, and the count. */
	assert_int_equal(shmx_members(ctx, mem, 2, &n), 0);
	assert_int_equal(n, NKIDS + 1);

	/* One dies without a word: gone once the node has seen it. */
	kill(kids[k[1]].pid, SIGKILL);
	assert_int_equal(kid_reap(k[1]), 128 + SIGKILL);
	end = now_ms() + (uint64_t)client_timeout_ms + 3000;
	while (!gone && now_ms() < end) {
		assert_int_equal(shmx_members(ctx, mem, 16, &n), 0);
		gone = n == NKIDS;
		if (!gone)
			sleep_ms(50);
	}
	assert_true(gone);
	for (size_t j = 0; j < n; j++)
		assert_true(mem[j].id != ids[1]);
	assert_int_equal(shmx_lookup(ctx, "g-member-1", &id), -ENOENT);
	assert_int_equal(shmx_lookup(ctx, "g-member-0", &id), 0);
	assert_int_equal(id, ids[0]);
	assert_int_equal(shmx_lookup(ctx, "g-member-2", &id), 0);
	assert_int_equal(id, ids[2]);

	kid_send(k[0], M_FINISH, NULL, 0);
	kid_send(k[2], M_FINISH, NULL, 0);
	assert_int_equal(kid_reap(k[0]), 0);
	assert_int_equal(kid_reap(k[2]), 0);
	assert_int_equal(shmx_members(ctx, NULL, 0, &count), 0);
	assert_int_equal(count, 1);
}

/* --- 7. shmnode's admin socket (local mode) --------------------------- */

/*
 * Run "$SHMX_SHMNODE admin --admin-socket PATH @cmd @arg"; its stdout into
 * @out.  Returns its exit status, or -1.
 */
static int run_admin(const char *cmd, const char *arg, char *out, size_t len)
{
	const char *bin = getenv("SHMX_SHMNODE");
	const char *argv[] = { bin, "admin", "--admin-socket", admin_sock, cmd,
			       arg, NULL };
	uint64_t end = now_ms() + WAIT_MS;
	size_t got = 0;
	int fds[2], status;
	pid_t pid;

	if (!bin || pipe2(fds, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		uint64_t now = now_ms();
		ssize_t n;

		if (now >= end || poll(&p, 1, (int)(end - now)) != 1)
			break;
		n = read(fds[0], out + got, len - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == len - 1)
			break;
	}
	out[got] = 0;
	close(fds[0]);
	status = reap(pid, WAIT_MS / 1000);
	if (status < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return status;
}

static void test_admin(void **state)
{
	struct shmx_extent ext[8];
	char out[4096], want[128];
	uint64_t gen0, gen;
	size_t n0, n;

	if (test_remote())
		skip(); /* the node's admin socket is on its own host */
	assert_int_equal(shmx_extents(ctx, ext, 8, &n0, &gen0), 0);
	assert_int_equal(run_admin("grow", "4M", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "extent base"));
	/* Pushed to this member like any other grow. */
	assert_int_equal(
		wait_map(ctx, n0 + 1, SHMX_GADDR_NULL, ext, &gen, MAP_WAIT_MS),
		0);
	assert_true(gen > gen0);
	assert_int_equal(ext[n0].len, 4 << 20);
	assert_int_equal(ext[n0].base,
			 ext[n0 - 1].base + ext[n0 - 1].len + 2 * MiB);

	assert_int_equal(run_admin("status", NULL, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "extents"));
	snprintf(want, sizeof(want), "in %zu extents, generation %llu", n0 + 1,
		 (unsigned long long)gen);
	assert_non_null(strstr(out, want));

	assert_int_equal(run_admin("shrink", "1G", out, sizeof(out)), 1);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen0), 0);
	assert_int_equal(n, n0 + 1);
	assert_int_equal(gen0, gen);
	assert_int_equal(run_admin("shrink", "4M", out, sizeof(out)), 0);
	assert_int_equal(
		wait_map(ctx, n0, SHMX_GADDR_NULL, ext, &gen, MAP_WAIT_MS), 0);
	assert_true(gen > gen0);
	assert_true(node_log_contains(&node, "memory grew by 4194304 bytes"));
}

/* --- 8. bad arguments --------------------------------------------------- */

static void test_bad_arguments(void **state)
{
	struct shmx_extent ext[8], one[1] = { { 77, 77 } };
	shmx_gaddr_t base = 77;
	uint64_t gen, gen0;
	size_t n = 0, all;

	assert_int_equal(shmx_extents(ctx, ext, 8, &all, &gen0), 0);
	assert_int_equal(shmx_grow(NULL, 4096, &base), -EINVAL);
	assert_int_equal(shmx_grow(ctx, 0, NULL), -EINVAL);
	assert_int_equal(shmx_grow(ctx, 0, &base), -EINVAL);
	assert_int_equal(base, 77);
	assert_int_equal(shmx_shrink(NULL, 4096), -EINVAL);
	assert_int_equal(shmx_shrink(ctx, 0), -EINVAL);
	assert_int_equal(shmx_extents(ctx, NULL, 1, &n, NULL), -EINVAL);
	assert_int_equal(shmx_extents(NULL, ext, 8, &n, NULL), -EINVAL);
	assert_int_equal(shmx_extents(ctx, ext, 8, NULL, NULL), -EINVAL);
	assert_int_equal(shmx_root_get(ctx, NULL), -EINVAL);
	assert_int_equal(shmx_root_get(NULL, &base), -EINVAL);
	assert_int_equal(shmx_root_set(NULL, 0), -EINVAL);
	assert_int_equal(shmx_members(ctx, NULL, 1, &n), -EINVAL);
	assert_int_equal(shmx_members(ctx, NULL, 0, NULL), -EINVAL);
	/* max 0 and no array: just the count. */
	assert_int_equal(shmx_extents(ctx, NULL, 0, &n, NULL), 0);
	assert_int_equal(n, all);
	/* Fewer slots than extents: the first ones, and the count. */
	assert_int_equal(shmx_extents(ctx, one, 1, &n, &gen), 0);
	assert_int_equal(n, all);
	assert_int_equal(one[0].base, 0);
	assert_int_equal(one[0].len, NODE_SIZE);
	/* Nothing changed. */
	assert_int_equal(gen, gen0);
}

/* --- regressions: each of these failed before its fix ------------------ */

/*
 * A member learns an address in memory grown a moment ago (from another
 * process) and its first call is a read there: it must not be -EFAULT
 * (check_range takes in waiting MAP events, then reads the header's map).
 */
static int first_call_child(int fd, void *arg)
{
	struct shmx_ctx *c;
	uint64_t word = 0;
	struct msg m;
	int ret;

	CHECK(msg_recv(fd, M_INDEX, &m, WAIT_MS) == 0);
	CHECK(client_open(arg, "g-first", 0, &c) == 0);
	CHECK(msg_send(fd, M_READY, NULL, 0) == 0);
	/* GO {addr, value}: read it, as the very first call. */
	CHECK(msg_recv(fd, M_GO, &m, WAIT_MS) == 0);
	ret = shmx_read(c, m.v[0], &word, 8);
	if (ret)
		fprintf(stderr, "first read in grown memory: %s\n",
			shmx_strerror(ret));
	/* Leave either way: a member that dies unnoticed wedges the node
	 * at the next MAP event (test_grow_after_member_killed). */
	CHECK(shmx_close(c) == 0);
	CHECK(ret == 0 && word == m.v[1]);
	return 0;
}

static void test_first_call_in_new_memory(void **state)
{
	struct shmx_pool *p;
	shmx_gaddr_t base, blk;
	uint64_t go[2] = { 0, 0xfeedbeef };
	size_t n;
	int k, st;

	k = kid_start(first_call_child, 0);
	kid_recv(k, M_READY, NULL);
	assert_int_equal(shmx_grow(ctx, 16 * MiB, &base), 0);
	/* 12M: more than any older extent has free. */
	assert_int_equal(shmx_pool_open(ctx, "g-first", 12 * MiB,
					SHMX_CREAT | SHMX_EXCL, &p),
			 0);
	assert_int_equal(shmx_alloc(p, BLOCK_SIZE, 0, &blk), 0);
	assert_true(blk >= base);
	assert_int_equal(shmx_write(ctx, blk, &go[1], 8), 0);
	go[0] = blk;
	kid_send(k, M_GO, go, 2);
	st = kid_reap(k);
	assert_int_equal(shmx_release(ctx, blk), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
	assert_int_equal(shmx_shrink(ctx, 16 * MiB), 0);
	assert_int_equal(shmx_extents(ctx, NULL, 0, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(st, 0);
}

/*
 * A member that read a block in a grown extent holds its key; the block is
 * released, the pool destroyed, the extent shrunk and grown again at the
 * same address, and a new block made there.  The member's next read must
 * work: the node tells every holder of a key it drops (REVOKE), and a MAP
 * event that takes memory away drops the keys there.
 */
static int stale_key_child(int fd, void *arg)
{
	struct shmx_extent ext[8];
	struct shmx_ctx *c;
	uint64_t word = 0, gen;
	struct msg m;
	size_t n;
	int ret;

	CHECK(msg_recv(fd, M_INDEX, &m, WAIT_MS) == 0);
	CHECK(client_open(arg, "g-stale", 0, &c) == 0);
	CHECK(msg_send(fd, M_READY, NULL, 0) == 0);
	CHECK(msg_recv(fd, M_GO, &m, WAIT_MS) == 0);
	CHECK(shmx_extents(c, ext, 8, &n, &gen) == 0); /* the new map */
	CHECK(shmx_read(c, m.v[0], &word, 8) == 0 && word == m.v[1]);
	CHECK(msg_send(fd, M_OK, NULL, 0) == 0);
	/* The same address again, a new block in a new extent. */
	CHECK(msg_recv(fd, M_GO, &m, WAIT_MS) == 0);
	ret = shmx_read(c, m.v[0], &word, 8);
	if (ret)
		fprintf(stderr, "read of the new block: %s\n",
			shmx_strerror(ret));
	CHECK(ret == 0 && word == m.v[1]);
	CHECK(shmx_write(c, m.v[0], &word, 8) == 0);
	CHECK(shmx_extents(c, ext, 8, &n, &gen) == 0);
	CHECK(shmx_close(c) == 0);
	return 0;
}

static void test_stale_key_after_shrink(void **state)
{
	struct shmx_pool *p;
	shmx_gaddr_t base, blk, blk2;
	uint64_t go[2] = { 0, 0xfeedbeef };
	int k, st;

	k = kid_start(stale_key_child, 0);
	kid_recv(k, M_READY, NULL);
	assert_int_equal(shmx_grow(ctx, 16 * MiB, &base), 0);
	assert_int_equal(shmx_pool_open(ctx, "g-stale", 12 * MiB,
					SHMX_CREAT | SHMX_EXCL, &p),
			 0);
	assert_int_equal(shmx_alloc(p, BLOCK_SIZE, 0, &blk), 0);
	assert_int_equal(shmx_write(ctx, blk, &go[1], 8), 0);
	go[0] = blk;
	kid_send(k, M_GO, go, 2);
	kid_recv(k, M_OK, NULL);

	assert_int_equal(shmx_release(ctx, blk), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
	assert_int_equal(shmx_shrink(ctx, 16 * MiB), 0);
	assert_int_equal(shmx_grow(ctx, 16 * MiB, &base), 0);
	assert_int_equal(shmx_pool_open(ctx, "g-stale", 12 * MiB,
					SHMX_CREAT | SHMX_EXCL, &p),
			 0);
	assert_int_equal(shmx_alloc(p, BLOCK_SIZE, 0, &blk2), 0);
	assert_int_equal(blk2, blk);
	go[1] = 0xabad1dea;
	assert_int_equal(shmx_write(ctx, blk2, &go[1], 8), 0);
	kid_send(k, M_GO, go, 2);
	st = kid_reap(k);
	if (st) /* its connection is gone: let the node see it leave */
		sleep_ms(client_timeout_ms + 1000);
	assert_int_equal(shmx_release(ctx, blk2), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
	assert_int_equal(shmx_shrink(ctx, 16 * MiB), 0);
	assert_int_equal(st, 0);
}

/*
 * A shrink may not take the memory the root points into: shmx_root_set
 * refuses an address outside the memory, so a shrink that would leave the
 * root there is refused too (-EBUSY), and the root stays where it was.
 */
static void test_root_outside_after_shrink(void **state)
{
	struct shmx_extent ext[8];
	struct shmx_pool *p;
	shmx_gaddr_t base, blk, root, old;
	uint64_t gen;
	size_t n;
	int ret, inside = 0;

	assert_int_equal(shmx_root_get(ctx, &old), 0);
	assert_int_equal(shmx_grow(ctx, 16 * MiB, &base), 0);
	assert_int_equal(shmx_pool_open(ctx, "g-rootless", 12 * MiB,
					SHMX_CREAT | SHMX_EXCL, &p),
			 0);
	assert_int_equal(shmx_alloc(p, BLOCK_SIZE, 0, &blk), 0);
	assert_int_equal(shmx_root_set(ctx, blk), 0);
	assert_int_equal(shmx_release(ctx, blk), 0);
	assert_int_equal(shmx_pool_destroy(p), 0);
	ret = shmx_shrink(ctx, 16 * MiB);
	assert_int_equal(shmx_root_get(ctx, &root), 0);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	for (size_t i = 0; i < n; i++)
		inside |=
			root >= ext[i].base && root - ext[i].base < ext[i].len;
	/* Put things back before judging. */
	assert_int_equal(shmx_root_set(ctx, old), 0);
	if (ret == -EBUSY)
		assert_int_equal(shmx_shrink(ctx, 16 * MiB), 0);
	assert_int_equal(ret, -EBUSY);
	assert_int_equal(root, blk);
	assert_true(inside);
}

/*
 * A member dies (SIGKILL) and, before the node notices, someone grows.  The
 * MAP event to the dead member cannot be sent; it must not hold back the
 * replies to everyone else (it did: one send queue for all), and when the
 * sweep removes the dead member nothing may be sent to its removed address
 * any more (shmnode died of SIGSEGV in libfabric 1.17's rxm).
 */
static void test_grow_after_member_killed(void **state)
{
	struct shmx_extent ext[8];
	shmx_gaddr_t base;
	uint64_t gen;
	size_t n;
	int k;

	k = kid_start(member_child, 9);
	kid_recv(k, M_READY, NULL);
	kill(kids[k].pid, SIGKILL);
	assert_int_equal(kid_reap(k), 128 + SIGKILL);
	assert_int_equal(shmx_grow(ctx, 4 << 20, &base), 0);
	assert_int_equal(shmx_shrink(ctx, 4 << 20), 0);
	/* After the node has seen the member go: still serving. */
	sleep_ms(client_timeout_ms + 1000);
	assert_int_equal(shmx_extents(ctx, ext, 8, &n, &gen), 0);
	assert_int_equal(shmx_grow(ctx, 4 << 20, &base), 0);
	assert_int_equal(shmx_shrink(ctx, 4 << 20), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_connect, kids_cleanup),
		cmocka_unit_test_teardown(test_grow_while_clients_run,
					  kids_cleanup),
		cmocka_unit_test_teardown(test_shrink, kids_cleanup),
		cmocka_unit_test_teardown(test_resize_permission, kids_cleanup),
		cmocka_unit_test_teardown(test_root_and_map, kids_cleanup),
		cmocka_unit_test_teardown(test_members, kids_cleanup),
		cmocka_unit_test_teardown(test_admin, kids_cleanup),
		cmocka_unit_test_teardown(test_bad_arguments, kids_cleanup),
		cmocka_unit_test_teardown(test_first_call_in_new_memory,
					  kids_cleanup),
		cmocka_unit_test_teardown(test_root_outside_after_shrink,
					  kids_cleanup),
		cmocka_unit_test_teardown(test_stale_key_after_shrink,
					  kids_cleanup),
		cmocka_unit_test_teardown(test_grow_after_member_killed,
					  kids_cleanup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
