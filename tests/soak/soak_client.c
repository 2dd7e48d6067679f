/* SPDX-License-Identifier: MIT */
/*
 * soak_client.c - one client of the soak (deploy/soak.sh): for a set time
 * it mixes every kind of operation against one shmnode, through the
 * public API only, and checks what it reads back:
 *  - blocks: allocate 64 B to 64 KiB in the pool "soak", write a pattern,
 *    read it back, release;
 *  - segments: attach (or create) one of 8 named segments, write and read
 *    back its own slot, detach; now and then remove one;
 *  - locks: one of 4 named global locks, exclusive, around a
 *    read-modify-write of its counter (8 bytes) in the segment
 *    "soak-counters": the counters end at the sum of every client's
 *    "locked" (deploy/soak.sh checks);
 *  - signals and messages to a random live member, and taking its own;
 *  - now and then: leave and join again (close and open the context).
 * Errors that the situation explains (the member picked has just left, a
 * full window, a busy lock within its timeout) are counted apart; any
 * other is an error.  Prints one line of counts; exits 0 when no error.
 * Usage: soak_client SECONDS SEED
 *        soak_client counters   (the sum of the counters, after a run)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <shmext/shmext.h>

#define SEGS 8
#define SEG_SIZE (64 * 1024)
#define SLOT 64 /* bytes of a segment that one member id writes */
#define LOCKS 4
#define MSG_LEN 1024

enum { OP_BLOCK, OP_SEG, OP_LOCK, OP_SIGNAL, OP_MSG, OP_REJOIN, OP_NR };
static const char *const op_name[OP_NR] = { "block",  "seg", "lock",
					    "signal", "msg", "rejoin" };

struct soak {
	struct shmx_ctx *ctx;
	struct shmx_pool *pool;
	struct shmx_lock *lock[LOCKS];
	struct shmx_seg *counters;
	unsigned seed;
	unsigned long ops[OP_NR], expected, errors;
	unsigned long locked; /* counter increments made under a lock */
};

static void error(struct soak *s, const char *what, int ret)
{
	s->errors++;
	fprintf(stderr, "soak_client %d: %s: %s\n", (int)getpid(), what,
		shmx_strerror(ret));
}

static unsigned rnd(struct soak *s, unsigned n)
{
	return (unsigned)rand_r(&s->seed) % n;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void fill(uint8_t *buf, size_t len, uint32_t salt)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + salt);
}

static int join(struct soak *s)
{
	char name[32];
	int ret = shmx_open(NULL, &s->ctx);

	if (!ret)
		ret = shmx_pool_open(s->ctx, "soak", 16 << 20, SHMX_CREAT,
				     &s->pool);
	for (int i = 0; !ret && i < LOCKS; i++) {
		snprintf(name, sizeof(name), "soak-lock-%d", i);
		ret = shmx_lock_reserve(s->ctx, name, &s->lock[i]);
	}
	if (!ret)
		ret = shmx_seg_open(s->ctx, "soak-counters", 4096, SHMX_CREAT,
				    0600, &s->counters);
	return ret;
}

static void leave(struct soak *s)
{
	int ret = 0;

	/* Closing the context frees its lock handles, not the others. */
	if (s->counters)
		ret = shmx_seg_close(s->counters);
	if (s->pool && !ret)
		ret = shmx_pool_close(s->pool);
	if (!ret)
		ret = shmx_close(s->ctx);
	if (ret)
		error(s, "close", ret);
	memset(s->lock, 0, sizeof(s->lock));
	s->ctx = NULL;
	s->pool = NULL;
	s->counters = NULL;
}

static void op_block(struct soak *s)
{
	size_t len = 64u << rnd(s, 11); /* 64 B .. 64 KiB */
	uint8_t *w = malloc(len), *r = malloc(len);
	shmx_gaddr_t g;
	int ret = w && r ? shmx_alloc(s->pool, len, 0, &g) : -ENOMEM;

	if (ret == -ENOMEM) { /* the pool is full for now */
		s->expected++;
		goto out;
	}
	if (ret) {
		error(s, "alloc", ret);
		goto out;
	}
	fill(w, len, s->seed);
	ret = shmx_write(s->ctx, g, w, len);
	if (!ret)
		ret = shmx_read(s->ctx, g, r, len);
	if (ret)
		error(s, "block write/read", ret);
	else if (memcmp(w, r, len))
		error(s, "block read back differs", -EIO);
	ret = shmx_release(s->ctx, g);
	if (ret)
		error(s, "release", ret);
out:
	free(w);
	free(r);
}

static void op_seg(struct soak *s)
{
	uint8_t w[SLOT], r[SLOT];
	struct shmx_seg *seg;
	char name[32];
	uint64_t off = (uint64_t)(shmx_self(s->ctx) % (SEG_SIZE / SLOT)) * SLOT;
	int ret;

	snprintf(name, sizeof(name), "soak-seg-%u", rnd(s, SEGS));
	ret = shmx_seg_open(s->ctx, name, SEG_SIZE, SHMX_CREAT, 0600, &seg);
	if (ret) {
		error(s, "seg open", ret);
		return;
	}
	fill(w, sizeof(w), s->seed);
	ret = shmx_write(s->ctx, shmx_seg_addr(seg) + off, w, sizeof(w));
	if (!ret)
		ret = shmx_read(s->ctx, shmx_seg_addr(seg) + off, r, sizeof(r));
	if (ret)
		error(s, "seg write/read", ret);
	else if (memcmp(w, r, sizeof(w)))
		/* Another member at the same id, after this one left?  No:
		 * ids are not reused while the segment keeps this slot. */
		error(s, "seg read back differs", -EIO);
	/* Now and then it goes at its last detach. */
	if (!rnd(s, 50) && (ret = shmx_seg_remove(seg)) && ret != -ENOENT)
		error(s, "seg remove", ret);
	ret = shmx_seg_close(seg);
	if (ret)
		error(s, "seg close", ret);
}

static void op_lock(struct soak *s)
{
	unsigned k = rnd(s, LOCKS); /* lock k guards counter k */
	struct shmx_lock *l = s->lock[k];
	shmx_gaddr_t at = shmx_seg_addr(s->counters) + 8 * (uint64_t)k;
	uint64_t fence, v;
	int ret = shmx_lock_acquire(l, SHMX_LOCK_EXCLUSIVE, 5000, &fence);

	if (ret == -ETIMEDOUT) { /* 64 clients on a few CPUs */
		s->expected++;
		return;
	}
	if (ret) {
		error(s, "lock acquire", ret);
		return;
	}
	ret = shmx_read(s->ctx, at, &v, sizeof(v));
	v++;
	if (!ret)
		ret = shmx_write(s->ctx, at, &v, sizeof(v));
	if (ret)
		error(s, "counter read/write", ret);
	else
		s->locked++;
	ret = shmx_lock_release(l);
	if (ret)
		error(s, "lock release", ret);
}

/* A random live member other than this one; 0 when alone. */
static shmx_node_t peer(struct soak *s)
{
	struct shmx_member m[256];
	size_t n = 0;
	int ret = shmx_members(s->ctx, m, 256, &n);

	if (ret) {
		error(s, "members", ret);
		return 0;
	}
	if (n > 256)
		n = 256;
	for (int tries = 0; n > 1 && tries < 8; tries++) {
		shmx_node_t id = m[rnd(s, (unsigned)n)].id;

		if (id != shmx_self(s->ctx))
			return id;
	}
	return 0;
}

/* Take what waits: signals and messages (checked). */
static void drain(struct soak *s)
{
	struct shmx_signal_info si;
	struct shmx_message *m;
	int ret;

	while (!(ret = shmx_signal_wait(s->ctx, 0, &si)))
		;
	if (ret != -ETIMEDOUT)
		error(s, "signal wait", ret);
	while (!(ret = shmx_msg_recv(s->ctx, 0, &m))) {
		uint8_t want[MSG_LEN];

		fill(want, sizeof(want), m->src);
		if (m->len != MSG_LEN || memcmp(m->data, want, MSG_LEN))
			error(s, "message differs", -EBADMSG);
		shmx_msg_free(m);
	}
	if (ret != -ETIMEDOUT)
		error(s, "msg recv", ret);
}

/* What a send to a member picked a moment ago may meet. */
static int send_expected(int ret)
{
	return ret == -ESRCH || ret == -EHOSTDOWN || ret == -EAGAIN ||
	       ret == -ETIMEDOUT;
}

static void op_signal(struct soak *s)
{
	shmx_node_t id = peer(s);
	int ret = id ? shmx_signal(s->ctx, id, 1 + rnd(s, 100), s->seed) : 0;

	if (send_expected(ret))
		s->expected++;
	else if (ret)
		error(s, "signal", ret);
	drain(s);
}

static void op_msg(struct soak *s)
{
	shmx_node_t id = peer(s);
	uint8_t buf[MSG_LEN];
	int ret = 0;

	fill(buf, sizeof(buf), shmx_self(s->ctx));
	if (id)
		ret = shmx_msg_send(s->ctx, id, buf, sizeof(buf),
				    SHMX_MSG_NONBLOCK);
	if (send_expected(ret))
		s->expected++;
	else if (ret)
		error(s, "msg send", ret);
	drain(s);
}

/* "soak_client counters": the sum of the lock-guarded counters. */
static int print_counters(void)
{
	struct shmx_ctx *ctx;
	struct shmx_seg *seg = NULL;
	uint64_t c[LOCKS], sum = 0;
	int ret = shmx_open(NULL, &ctx);

	if (ret) {
		fprintf(stderr, "soak_client: %s\n", shmx_strerror(ret));
		return 1;
	}
	ret = shmx_seg_open(ctx, "soak-counters", 0, 0, 0, &seg);
	if (!ret)
		ret = shmx_read(ctx, shmx_seg_addr(seg), c, sizeof(c));
	if (ret) {
		fprintf(stderr, "soak_client: counters: %s\n",
			shmx_strerror(ret));
		shmx_seg_close(seg);
		shmx_close(ctx);
		return 1;
	}
	for (int i = 0; i < LOCKS; i++)
		sum += c[i];
	printf("%llu\n", (unsigned long long)sum);
	shmx_seg_close(seg);
	shmx_close(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	struct soak s = { 0 };
	double end;
	int ret;

	if (argc == 2 && !strcmp(argv[1], "counters"))
		return print_counters();
	if (argc != 3) {
		fprintf(stderr, "usage: soak_client SECONDS SEED | counters\n");
		return 2;
	}
	end = now_s() + atof(argv[1]);
	s.seed = (unsigned)strtoul(argv[2], NULL, 10);
	ret = join(&s);
	if (ret) {
		fprintf(stderr, "soak_client: cannot join: %s\n",
			shmx_strerror(ret));
		return 1;
	}
	while (now_s() < end) {
		/* Weights: blocks 4, segments 2, locks 2, signals 2,
		 * messages 2, rejoin 1 in 1000. */
		unsigned r = rnd(&s, 12), op;

		op = r < 4    ? OP_BLOCK
		     : r < 6  ? OP_SEG
		     : r < 8  ? OP_LOCK
		     : r < 10 ? OP_SIGNAL
			      : OP_MSG;
		if (!rnd(&s, 1000))
			op = OP_REJOIN;
		s.ops[op]++;
		switch (op) {
		case OP_BLOCK:
			op_block(&s);
			break;
		case OP_SEG:
			op_seg(&s);
			break;
		case OP_LOCK:
			op_lock(&s);
			break;
		case OP_SIGNAL:
			op_signal(&s);
			break;
		case OP_MSG:
			op_msg(&s);
			break;
		default:
			leave(&s);
			ret = join(&s);
			if (ret) {
				error(&s, "join again", ret);
				return 1;
			}
		}
	}
	drain(&s);
	leave(&s);
	printf("soak_client %d:", (int)getpid());
	for (int i = 0; i < OP_NR; i++)
		printf(" %s %lu", op_name[i], s.ops[i]);
	printf(" locked %lu expected %lu errors %lu\n", s.locked, s.expected,
	       s.errors);
	return s.errors ? 1 : 0;
}
