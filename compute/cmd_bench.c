/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench.c - shmext bench: latency of shmx_read and shmx_write (8 B and
 * 4 KiB), shmx_cas64 and shmx_fadd64 (median, 99th percentile, mean), and
 * the bandwidth of 1 MiB reads and writes, blocking and with several
 * non-blocking transfers in flight, then the control plane: an RPC round
 * trip, alloc+release pairs (64 B, 4 KiB, 1 MiB) and an ownership
 * transfer.  Works in an 8 MiB block of the pool "shmext-bench" and the
 * pool "shmext-bench-alloc" (created if need be), released at the end.
 * Locks: an uncontended acquire+release pair of the exclusive lock
 * "shmext-bench-lock", and the lock under contention: 1, 2, 4 and 8 forked
 * processes, each with its own context, take it in turn for --duration ms
 * (acquisitions per second, Jain's fairness index over the processes'
 * counts, the longest single wait).  With --redis HOST:PORT the same lock
 * figures, and only those, against Redis (SET NX PX / DEL).
 * Signals and messages: round trips of a signal and of messages of 8 B,
 * 4048 B (the most that travels inline) and 64 KiB (through shared
 * memory), and a stream of 1 MiB messages, to an echo process of its own
 * (bench_msg.c) or with --peer to a member running shmext echo; the
 * message pool is made SHMEXT_MSG_POOL_SIZE (default here 32 MiB) large.
 * A benchmark, not a test: deploy/bench-ofi.sh sets the numbers beside
 * fi_pingpong's, deploy/bench-locks.sh the lock figures beside Redis's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_msg.h"
#include "cli.h"
#include "output.h"
#include "redis.h"
#include "util/clock.h"

#define BENCH_POOL "shmext-bench"
#define SCRATCH (8u << 20) /* the block the measurements use */
#define BW_SIZE (1u << 20) /* bandwidth: bytes per transfer */
#define BW_WINDOW 8	   /* bandwidth: non-blocking transfers in flight */

enum bench_op {
	B_READ,
	B_WRITE,
	B_CAS,
	B_FADD,
	B_RPC,
	B_ALLOC,
	B_XFER,
	B_LOCK,
	B_SIGNAL,
	B_MSG,
};

/* The peer of the signal and message figures. */
static struct bench_echo bench_echo = { .pid = -1 };

/* Allocation and ownership: a pool to allocate from, a block we own. */
#define ALLOC_POOL "shmext-bench-alloc"
#define ALLOC_POOL_SIZE (4u << 20)
static struct shmx_pool *alloc_pool;
static shmx_gaddr_t owned = SHMX_GADDR_NULL;

/*
 * The lock the lock figures take: a shmext global lock, or with --redis
 * the Redis key of the same name.  Redis has no lock of its own; the
 * common pattern is taken: acquire = SET key token NX PX lease, tried
 * again at once until it answers OK; release = a plain DEL key (a
 * compare-and-delete script would check the token first; the plain DEL is
 * what the simple pattern does and costs one round trip like it).
 */
#define BENCH_LOCK "shmext-bench-lock"
#define CONTEND_MAX 8 /* processes in the largest contended figure */

struct locker {
	struct shmx_ctx *ctx; /* shmext: the context (the caller's) */
	struct shmx_lock *lock;
	struct redis *redis; /* --redis: the connection */
	int timeout_ms;	     /* redis: how long an acquire retries */
	char token[48];	     /* redis: this process's value of the key */
};

static struct locker bench_locker;

/* The context's blocking-call timeout, as the options set it. */
static int bench_timeout(const struct cli *cli)
{
	return cli->attr.comp_mask & SHMX_OPEN_ATTR_TIMEOUT
		       ? cli->attr.timeout_ms
		       : SHMX_DEFAULT_TIMEOUT_MS;
}

/* Reserve the lock on @ctx, or connect to Redis (@ctx NULL). */
static int locker_open(const struct cli *cli, struct shmx_ctx *ctx,
		       struct locker *k)
{
	memset(k, 0, sizeof(*k));
	k->timeout_ms = bench_timeout(cli);
	if (!cli->redis) {
		k->ctx = ctx;
		return shmx_lock_reserve(ctx, BENCH_LOCK, &k->lock);
	}
	snprintf(k->token, sizeof(k->token), "shmext-bench-%d", (int)getpid());
	return redis_connect(cli->redis, k->timeout_ms, &k->redis);
}

/* Take the lock exclusively; *@wait_ns (may be NULL): how long it took. */
static int locker_acquire(struct locker *k, uint64_t *wait_ns)
{
	char lease[16];
	const char *set[] = { "SET", BENCH_LOCK, k->token, "NX", "PX", lease };
	uint64_t t0 = shmx__now_ns(), until;
	struct redis_reply rep;
	int ret;

	if (k->lock) {
		ret = shmx_lock_acquire(k->lock, SHMX_LOCK_EXCLUSIVE, -1, NULL);
	} else {
		snprintf(lease, sizeof(lease), "%d", SHMX_LOCK_LEASE_MS);
		until = t0 + (uint64_t)k->timeout_ms * 1000000;
		do {
			ret = redis_cmd(k->redis, &rep, 6, set);
			if (!ret && rep.type == REDIS_STATUS)
				break;
			if (!ret && !rep.nil)
				ret = -EPROTO; /* neither OK nor null */
			else if (!ret && shmx__now_ns() > until)
				ret = -ETIMEDOUT;
		} while (!ret);
	}
	if (wait_ns)
		*wait_ns = shmx__now_ns() - t0;
	return ret;
}

static int locker_release(struct locker *k)
{
	const char *del[] = { "DEL", BENCH_LOCK };
	struct redis_reply rep;

	if (k->lock)
		return shmx_lock_release(k->lock);
	return redis_cmd(k->redis, &rep, 2, del);
}

/* Give up the reservation, or the Redis connection. */
static int locker_close(struct locker *k)
{
	int ret = 0;

	if (k->lock)
		ret = shmx_lock_unreserve(k->lock);
	if (k->redis)
		ret = redis_close(k->redis);
	memset(k, 0, sizeof(*k));
	return ret;
}

/* One contended figure: @procs processes for the duration. */
struct contend {
	unsigned procs;
	double acq_per_s;   /* all processes together */
	double fairness;    /* Jain's index over the counts */
	double max_wait_us; /* the longest single acquire */
	uint64_t count[CONTEND_MAX];
};

/* What a contending process reports through its pipe, twice: ready, done. */
struct contend_report {
	int32_t status; /* 0 or -errno */
	int32_t stage;	/* where it failed: 0 join, 1 acquire, 2 release */
	uint64_t count;
	uint64_t max_wait_ns;
	uint64_t ns; /* how long it took the lock in turn */
};

static const char *const contend_stage[] = { "join", "acquire", "release" };

/* Take and release the lock until @ms have passed. */
static void contend_loop(struct locker *k, uint64_t ms,
			 struct contend_report *r)
{
	uint64_t t0 = shmx__now_ns(), until = t0 + ms * 1000000, wait;

	while (shmx__now_ns() < until) {
		r->stage = 1;
		r->status = locker_acquire(k, &wait);
		if (r->status)
			break;
		r->stage = 2;
		r->status = locker_release(k);
		if (r->status)
			break;
		r->count++;
		if (wait > r->max_wait_ns)
			r->max_wait_ns = wait;
	}
	r->ns = shmx__now_ns() - t0;
}

/*
 * A contending process: join (its own context) and reserve, report ready
 * on @fd, wait for the go (a byte on @go; end of file calls it off), take
 * the lock in turn for @ms, report, leave.  Forked before the parent opens
 * any context: RDMA device contexts do not survive fork.
 */
static void __attribute__((noreturn))
contender(const struct cli *cli, unsigned me, uint64_t ms, int go, int fd)
{
	struct shmx_open_attr attr = cli->attr;
	struct contend_report r = { 0 };
	struct shmx_ctx *ctx = NULL;
	char name[SHMX_NAME_MAX], c;
	struct locker k = { 0 };
	int ok;

	snprintf(name, sizeof(name), "bench-lock-%u-%d", me, (int)getpid());
	attr.comp_mask |= SHMX_OPEN_ATTR_NAME;
	attr.name = name;
	if (!cli->redis)
		r.status = shmx_open(&attr, &ctx);
	if (!r.status)
		r.status = locker_open(cli, ctx, &k);
	ok = write(fd, &r, sizeof(r)) == (ssize_t)sizeof(r);
	if (ok && !r.status && read(go, &c, 1) == 1) {
		contend_loop(&k, ms, &r);
		ok = write(fd, &r, sizeof(r)) == (ssize_t)sizeof(r);
	}
	/* Refused (-EBUSY) while others still wait: leaving gives it up. */
	locker_close(&k);
	shmx_close(ctx);
	_exit(ok ? 0 : 1);
}

/*
 * Read one report from each of the @n pipes @fds until one reports a
 * failure (a process that died reports -EPIPE); its index and stage go to
 * *@bad and *@stage.
 */
static int contend_read(const int *fds, unsigned n, struct contend_report *r,
			unsigned *bad, const char **stage)
{
	for (unsigned i = 0; i < n; i++) {
		if (read(fds[i], &r[i], sizeof(r[i])) !=
		    (ssize_t)sizeof(r[i])) {
			memset(&r[i], 0, sizeof(r[i]));
			r[i].status = -EPIPE;
		}
		if (r[i].status) {
			*bad = i;
			*stage = contend_stage[r[i].stage];
			return r[i].status;
		}
	}
	return 0;
}

/*
 * Fork @c->procs contenders, start them together once all are ready,
 * collect and sum up.  On failure *@err_proc is the process that failed
 * and *@stage its stage.
 */
static int contend(const struct cli *cli, uint64_t ms, struct contend *c,
		   unsigned *err_proc, const char **stage)
{
	struct contend_report r[CONTEND_MAX];
	int fds[CONTEND_MAX], go[2], ret = 0;
	pid_t pid[CONTEND_MAX];
	unsigned started = 0;
	double sum = 0, sq = 0;

	if (pipe(go))
		return -errno;
	fflush(NULL);
	for (; started < c->procs; started++) {
		int p[2];

		if (pipe(p)) {
			ret = -errno;
			break;
		}
		pid[started] = fork();
		if (pid[started] < 0) {
			ret = -errno;
			close(p[0]);
			close(p[1]);
			break;
		}
		if (!pid[started]) {
			close(p[0]);
			close(go[1]);
			for (unsigned i = 0; i < started; i++)
				close(fds[i]);
			contender(cli, started, ms, go[0], p[1]);
		}
		close(p[1]);
		fds[started] = p[0];
	}
	close(go[0]);
	if (!ret)
		ret = contend_read(fds, started, r, err_proc, stage);
	for (unsigned i = 0; i < started && !ret; i++)
		if (write(go[1], "g", 1) != 1)
			ret = -errno;
	close(go[1]); /* when called off, the processes see end of file */
	if (!ret)
		ret = contend_read(fds, started, r, err_proc, stage);
	for (unsigned i = 0; i < started; i++) {
		close(fds[i]);
		waitpid(pid[i], NULL, 0);
	}
	if (ret)
		return ret;
	c->acq_per_s = 0;
	c->max_wait_us = 0;
	for (unsigned i = 0; i < c->procs; i++) {
		double x = (double)r[i].count;

		c->count[i] = r[i].count;
		c->acq_per_s += x / ((double)r[i].ns / 1e9);
		sum += x;
		sq += x * x;
		if ((double)r[i].max_wait_ns / 1e3 > c->max_wait_us)
			c->max_wait_us = (double)r[i].max_wait_ns / 1e3;
	}
	c->fairness = sq > 0 ? sum * sum / ((double)c->procs * sq) : 0;
	return 0;
}

/* Every contended figure; reports a failure and returns CLI_FAIL. */
static int contend_all(const struct cli *cli, struct contend *c, size_t n)
{
	const char *stage = contend_stage[0];
	char msg[200];
	unsigned bad = 0;
	int ret;

	for (size_t i = 0; i < n; i++) {
		ret = contend(cli, cli->duration_ms, &c[i], &bad, &stage);
		if (!ret)
			continue;
		/* shmx_strerror speaks of shmnode; Redis errors are plain. */
		snprintf(msg, sizeof(msg),
			 "contended lock, %u process%s: process %u failed to "
			 "%s: %s",
			 c[i].procs, c[i].procs == 1 ? "" : "es", bad, stage,
			 cli->redis ? strerror(-ret) : shmx_strerror(ret));
		return cli_fail_msg(cli, ret, msg);
	}
	return CLI_OK;
}

struct lat {
	const char *key;  /* JSON member */
	const char *name; /* table row */
	enum bench_op op;
	size_t len;
	double median_us, p99_us, mean_us, min_us;
};

struct bw {
	const char *key;
	const char *name;
	int write;
	int window; /* 0: blocking calls */
	int msg;    /* messages to the echo instead */
	double mbs;
};

#define LAT(k, n, o, l)                                                        \
	{                                                                      \
		.key = (k), .name = (n), .op = (o), .len = (l)                 \
	}
#define BW(k, n, w, win)                                                       \
	{                                                                      \
		.key = (k), .name = (n), .write = (w), .window = (win)         \
	}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int one(struct shmx_ctx *ctx, enum bench_op op, shmx_gaddr_t at,
	       uint8_t *buf, size_t len)
{
	switch (op) {
	case B_READ:
		return shmx_read(ctx, at, buf, len);
	case B_WRITE:
		return shmx_write(ctx, at, buf, len);
	case B_CAS:
		return shmx_cas64(ctx, at, 0, 0, NULL);
	case B_FADD:
		return shmx_fadd64(ctx, at, 1, NULL);
	case B_RPC: {
		shmx_gaddr_t root;

		/* A control-plane round trip: request and reply messages. */
		return shmx_root_get(ctx, &root);
	}
	case B_ALLOC: {
		shmx_gaddr_t g;
		int ret = shmx_alloc(alloc_pool, len, 0, &g);

		/* A pair: two round trips to the node's allocator. */
		return ret ? ret : shmx_release(ctx, g);
	}
	case B_XFER: {
		shmx_node_t self = shmx_self(ctx);

		/* Re-keyed at the node: a new key, the old one revoked. */
		return shmx_own_transfer(ctx, owned, &self, 1, NULL);
	}
	case B_LOCK: {
		int ret = locker_acquire(&bench_locker, NULL);

		return ret ? ret : locker_release(&bench_locker);
	}
	case B_SIGNAL:
		return bench_signal_rtt(ctx, &bench_echo, at);
	case B_MSG:
		return bench_msg_rtt(ctx, &bench_echo, buf, len);
	}
	return -EINVAL;
}

/* @warmup untimed calls, then @iters timed ones into @t. */
static int latency(struct shmx_ctx *ctx, shmx_gaddr_t at, uint8_t *buf,
		   uint64_t *t, uint64_t iters, uint64_t warmup, struct lat *l)
{
	uint64_t med, p99;
	double sum = 0;
	int ret;

	for (uint64_t i = 0; i < warmup; i++) {
		ret = one(ctx, l->op, at, buf, l->len);
		if (ret)
			return ret;
	}
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t t0 = shmx__now_ns();

		ret = one(ctx, l->op, at, buf, l->len);
		if (ret)
			return ret;
		t[i] = shmx__now_ns() - t0;
		sum += (double)t[i];
	}
	qsort(t, iters, sizeof(*t), cmp_u64);
	/* Nearest-rank percentiles. */
	med = (iters + 1) / 2 - 1;
	p99 = (iters * 99 + 99) / 100 - 1;
	l->median_us = (double)t[med] / 1e3;
	l->p99_us = (double)t[p99] / 1e3;
	l->mean_us = sum / (double)iters / 1e3;
	l->min_us = (double)t[0] / 1e3;
	return 0;
}

/* Blocking: @n transfers of BW_SIZE, one after the other. */
static int bw_blocking(struct shmx_ctx *ctx, int write, shmx_gaddr_t at,
		       uint8_t *buf, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		size_t k = i % BW_WINDOW;
		int ret = write ? shmx_write(ctx, at + (uint64_t)k * BW_SIZE,
					     buf + k * BW_SIZE, BW_SIZE)
				: shmx_read(ctx, at + (uint64_t)k * BW_SIZE,
					    buf + k * BW_SIZE, BW_SIZE);

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Non-blocking: @n transfers with @window in flight; each slot's request
 * is waited for before its buffer is used again.
 */
static int bw_window(struct shmx_ctx *ctx, int write, shmx_gaddr_t at,
		     uint8_t *buf, unsigned n, unsigned window)
{
	struct shmx_req *req[BW_WINDOW] = { NULL };
	int ret = 0, r;

	for (unsigned i = 0; i < n + window; i++) {
		unsigned k = i % window;

		if (req[k]) {
			r = shmx_wait(req[k], -1);
			req[k] = NULL;
			if (r && !ret)
				ret = r;
		}
		if (i >= n || ret)
			continue;
		ret = write ? shmx_write_nb(ctx, at + (uint64_t)k * BW_SIZE,
					    buf + (size_t)k * BW_SIZE, BW_SIZE,
					    &req[k])
			    : shmx_read_nb(ctx, at + (uint64_t)k * BW_SIZE,
					   buf + (size_t)k * BW_SIZE, BW_SIZE,
					   &req[k]);
		if (ret)
			req[k] = NULL;
	}
	/* A request still running after a timeout is left to shmx_close. */
	return ret;
}

static int bandwidth(struct shmx_ctx *ctx, shmx_gaddr_t at, uint8_t *buf,
		     unsigned n, struct bw *b)
{
	uint64_t t0;
	int ret;

	/* Warm-up: touch every buffer and registration once. */
	ret = b->msg	  ? bench_msg_stream(ctx, &bench_echo, buf, BW_SIZE,
					     BW_WINDOW)
	      : b->window ? bw_window(ctx, b->write, at, buf, BW_WINDOW,
				      (unsigned)b->window)
			  : bw_blocking(ctx, b->write, at, buf, BW_WINDOW);
	if (ret)
		return ret;
	t0 = shmx__now_ns();
	ret = b->msg	  ? bench_msg_stream(ctx, &bench_echo, buf, BW_SIZE, n)
	      : b->window ? bw_window(ctx, b->write, at, buf, n,
				      (unsigned)b->window)
			  : bw_blocking(ctx, b->write, at, buf, n);
	if (ret)
		return ret;
	b->mbs = (double)n * BW_SIZE / 1e6 /
		 ((double)(shmx__now_ns() - t0) / 1e9);
	return 0;
}

/* Members "latency_us" and "locks" of the open object of @w. */
static void json_lat_locks(struct jw *w, const struct lat *lat, size_t nlat,
			   const struct contend *c, size_t nc, uint64_t ms)
{
	jw_obj(w, "latency_us");
	for (size_t i = 0; i < nlat; i++) {
		jw_obj(w, lat[i].key);
		jw_double(w, "median", lat[i].median_us, 2);
		jw_double(w, "p99", lat[i].p99_us, 2);
		jw_double(w, "mean", lat[i].mean_us, 2);
		jw_double(w, "min", lat[i].min_us, 2);
		jw_obj_end(w);
	}
	jw_obj_end(w);
	jw_obj(w, "locks");
	jw_str(w, "lock", BENCH_LOCK);
	jw_u64(w, "duration_ms", ms);
	jw_arr(w, "contended");
	for (size_t i = 0; i < nc && ms; i++) {
		jw_obj(w, NULL);
		jw_u64(w, "procs", c[i].procs);
		jw_double(w, "acq_per_s", c[i].acq_per_s, 1);
		jw_double(w, "fairness", c[i].fairness, 4);
		jw_double(w, "max_wait_us", c[i].max_wait_us, 1);
		jw_arr(w, "counts");
		for (unsigned k = 0; k < c[i].procs; k++)
			jw_u64(w, NULL, c[i].count[k]);
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

static void print_json(const struct shmx_info *info, shmx_gaddr_t scratch,
		       uint64_t iters, uint64_t warmup, unsigned n_bw,
		       const struct lat *lat, size_t nlat, const struct bw *bw,
		       size_t nbw, const struct contend *c, size_t nc,
		       uint64_t ms)
{
	struct jw w;

	jw_init(&w, stdout);
	jw_obj(&w, NULL);
	jw_str(&w, "node", info->node);
	jw_str(&w, "transport", info->transport);
	jw_str(&w, "provider", info->provider);
	jw_u64(&w, "iters", iters);
	jw_u64(&w, "warmup", warmup);
	jw_u64(&w, "scratch", scratch);
	json_lat_locks(&w, lat, nlat, c, nc, ms);
	jw_obj(&w, "bandwidth_mbs");
	for (size_t i = 0; i < nbw; i++)
		jw_double(&w, bw[i].key, bw[i].mbs, 1);
	jw_obj_end(&w);
	jw_u64(&w, "bw_transfer_bytes", BW_SIZE);
	jw_u64(&w, "bw_transfers", n_bw);
	jw_u64(&w, "bw_in_flight", BW_WINDOW);
	jw_obj_end(&w);
}

static void print_lat(uint64_t iters, const struct lat *lat, size_t nlat)
{
	printf("%-21s %10s %10s %10s   (%llu calls each)\n", "latency, µs",
	       "median", "p99", "mean", (unsigned long long)iters);
	for (size_t i = 0; i < nlat; i++)
		printf("%-20s %10.2f %10.2f %10.2f\n", lat[i].name,
		       lat[i].median_us, lat[i].p99_us, lat[i].mean_us);
}

static void print_contend(const struct contend *c, size_t nc, uint64_t ms)
{
	if (!ms)
		return;
	printf("\n%-20s %10s %10s %12s   (exclusive, %llu ms each)\n",
	       "contended lock", "acq/s", "fairness", "max wait, µs",
	       (unsigned long long)ms);
	for (size_t i = 0; i < nc; i++)
		printf("%2u process%-10s %10.0f %10.3f %12.1f\n", c[i].procs,
		       c[i].procs == 1 ? "" : "es", c[i].acq_per_s,
		       c[i].fairness, c[i].max_wait_us);
}

static void print_table(const struct shmx_info *info, shmx_gaddr_t scratch,
			uint64_t iters, unsigned n_bw, const struct lat *lat,
			size_t nlat, const struct bw *bw, size_t nbw,
			const struct contend *c, size_t nc, uint64_t ms)
{
	printf("shmext bench: %s, %s provider %s, scratch 0x%llx-0x%llx\n\n",
	       info->node, info->transport, info->provider,
	       (unsigned long long)scratch,
	       (unsigned long long)scratch + SCRATCH);
	print_lat(iters, lat, nlat);
	printf("\n%-20s %10s   (%u transfers of 1 MiB each)\n", "bandwidth",
	       "MB/s", n_bw);
	for (size_t i = 0; i < nbw; i++)
		printf("%-20s %10.1f\n", bw[i].name, bw[i].mbs);
	print_contend(c, nc, ms);
}

/* Give back what the bench took: its blocks and the pool handle. */
static void bench_cleanup(struct shmx_ctx *ctx, shmx_gaddr_t scratch)
{
	if (scratch != SHMX_GADDR_NULL)
		shmx_release(ctx, scratch);
	if (owned != SHMX_GADDR_NULL)
		shmx_release(ctx, owned);
	owned = SHMX_GADDR_NULL;
	if (alloc_pool)
		shmx_pool_close(alloc_pool);
	alloc_pool = NULL;
	locker_close(&bench_locker);
	bench_echo_stop(ctx, &bench_echo);
}

#define CONTENDED                                                              \
	{                                                                      \
		{ .procs = 1 }, { .procs = 2 }, { .procs = 4 },                \
		{                                                              \
			.procs = CONTEND_MAX                                   \
		}                                                              \
	}

/* --redis: the lock figures against Redis, and only those. */
static int bench_redis(struct cli *cli, uint64_t iters, uint64_t warmup)
{
	struct lat lat = LAT("lock_pair", "SET NX PX + DEL", B_LOCK, 0);
	struct contend c[] = CONTENDED;
	const size_t nc = sizeof(c) / sizeof(c[0]);
	char what[160];
	uint64_t *t;
	struct jw w;
	int ret;

	ret = contend_all(cli, c, nc);
	if (ret)
		return ret;
	ret = locker_open(cli, NULL, &bench_locker);
	if (ret) {
		snprintf(what, sizeof(what), "cannot connect to Redis at %s",
			 cli->redis);
		return cli_fail_hint(cli, ret, what,
				     "is redis-server running there?");
	}
	t = calloc(iters, sizeof(*t));
	ret = t ? latency(NULL, 0, NULL, t, iters, warmup, &lat) : -ENOMEM;
	free(t);
	locker_close(&bench_locker);
	if (ret)
		return cli_fail(cli, ret, "Redis lock+release pair");
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "redis", cli->redis);
		jw_u64(&w, "iters", iters);
		jw_u64(&w, "warmup", warmup);
		json_lat_locks(&w, &lat, 1, c, nc, cli->duration_ms);
		jw_obj_end(&w);
		return CLI_OK;
	}
	printf("shmext bench: Redis at %s, lock %s (SET NX PX %d, DEL)\n\n",
	       cli->redis, BENCH_LOCK, SHMX_LOCK_LEASE_MS);
	print_lat(iters, &lat, 1);
	print_contend(c, nc, cli->duration_ms);
	return CLI_OK;
}

int cmd_bench(struct cli *cli, int argc, char **argv)
{
	struct lat lat[] = {
		LAT("read_8", "shmx_read 8 B", B_READ, 8),
		LAT("read_4k", "shmx_read 4 KiB", B_READ, 4096),
		LAT("write_8", "shmx_write 8 B", B_WRITE, 8),
		LAT("write_4k", "shmx_write 4 KiB", B_WRITE, 4096),
		LAT("cas64", "shmx_cas64", B_CAS, 8),
		LAT("fadd64", "shmx_fadd64", B_FADD, 8),
		LAT("rpc", "shmx_root_get (RPC)", B_RPC, 0),
		LAT("alloc_64", "alloc+release 64 B", B_ALLOC, 64),
		LAT("alloc_4k", "alloc+release 4 KiB", B_ALLOC, 4096),
		LAT("alloc_1m", "alloc+release 1 MiB", B_ALLOC, 1u << 20),
		LAT("own_transfer", "shmx_own_transfer", B_XFER, 0),
		LAT("lock_pair", "lock+release pair", B_LOCK, 0),
		LAT("signal_rtt", "signal round trip", B_SIGNAL, 0),
		LAT("msg_rtt_8", "message 8 B, rtt", B_MSG, 8),
		LAT("msg_rtt_4048", "message 4048 B, rtt", B_MSG,
		    SHMX_MSG_INLINE_MAX),
		LAT("msg_rtt_64k", "message 64 KiB, rtt", B_MSG, 65536),
	};
	struct contend c[] = CONTENDED;
	struct bw bw[] = {
		BW("read_blocking", "read, blocking", 0, 0),
		BW("write_blocking", "write, blocking", 1, 0),
		BW("read_nb", "read, 8 in flight", 0, BW_WINDOW),
		BW("write_nb", "write, 8 in flight", 1, BW_WINDOW),
		{ .key = "msg_stream", .name = "messages of 1 MiB", .msg = 1 },
	};
	const uint64_t iters = cli->iters;
	uint64_t warmup = iters / 10 < 1000 ? iters / 10 : 1000;
	unsigned n_bw = iters / 20 < 64 ? 64 : (unsigned)(iters / 20);
	struct shmx_info info;
	struct shmx_pool *pool;
	struct shmx_ctx *ctx;
	shmx_gaddr_t scratch = SHMX_GADDR_NULL;
	char msg[160], size[32], region[32];
	uint64_t *t = NULL;
	const char *what = NULL;
	uint8_t *buf = NULL;
	int ret;

	if (argc)
		return cli_usage(cli, "takes no arguments (see --iters)");
	if (n_bw > 4096)
		n_bw = 4096;
	if (cli->redis)
		return bench_redis(cli, iters, warmup);
	/* First: the processes fork before this one opens a context. */
	if (cli->duration_ms && contend_all(cli, c, sizeof(c) / sizeof(c[0])))
		return CLI_FAIL;
	setenv("SHMEXT_MSG_POOL_SIZE", "32M", 0);
	ret = cli->peer ? 0 : bench_echo_start(&cli->attr, &bench_echo);
	if (ret)
		return cli_fail(cli, ret, "cannot start the echo process");
	ctx = cli_open(cli);
	if (!ctx) {
		bench_echo_stop(NULL, &bench_echo);
		return CLI_FAIL;
	}
	if (cli->peer) {
		ret = cli_resolve_nodes(cli, ctx, 1, (char **)&cli->peer,
					&bench_echo.id);
		if (ret) {
			shmx_close(ctx);
			return ret;
		}
	} else {
		what = "the echo process could not join";
		ret = bench_echo_join(&bench_echo, bench_timeout(cli));
	}
	if (!ret)
		ret = shmx_info(ctx, &info);
	if (ret)
		goto out_fail;
	ret = shmx_pool_open(ctx, BENCH_POOL, SCRATCH, SHMX_CREAT, &pool);
	if (ret == -ENOSPC || ret == -EFBIG) {
		snprintf(msg, sizeof(msg),
			 "the node has no room for the bench's pool '%s' of %s "
			 "(the memory has %s in all)",
			 BENCH_POOL, out_bytes(SCRATCH, size, sizeof(size)),
			 out_bytes(info.region_size, region, sizeof(region)));
		bench_echo_stop(ctx, &bench_echo);
		shmx_close(ctx);
		return cli_fail_msg(cli, ret, msg);
	}
	what = "cannot allocate the bench's block";
	if (ret)
		goto out_fail;
	ret = shmx_alloc(pool, SCRATCH, 0, &scratch);
	shmx_pool_close(pool);
	if (ret)
		goto out_fail;
	what = "cannot set up the allocation benchmark";
	ret = shmx_pool_open(ctx, ALLOC_POOL, ALLOC_POOL_SIZE, SHMX_CREAT,
			     &alloc_pool);
	if (!ret)
		ret = shmx_alloc(alloc_pool, 64, 0, &owned);
	if (!ret) {
		shmx_node_t self = shmx_self(ctx);

		ret = shmx_own(ctx, owned, &self, 1, NULL);
	}
	what = "cannot reserve the lock " BENCH_LOCK;
	if (!ret)
		ret = locker_open(cli, ctx, &bench_locker);
	if (ret)
		goto out_fail;
	what = NULL;
	t = calloc(iters, sizeof(*t));
	buf = malloc((size_t)BW_WINDOW * BW_SIZE);
	if (!t || !buf) {
		ret = -ENOMEM;
		goto out_fail;
	}
	memset(buf, 0xa5, (size_t)BW_WINDOW * BW_SIZE);
	for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++) {
		what = lat[i].name;
		ret = latency(ctx, scratch, buf, t, iters, warmup, &lat[i]);
		if (ret)
			goto out_fail;
	}
	for (size_t i = 0; i < sizeof(bw) / sizeof(bw[0]); i++) {
		what = bw[i].name;
		ret = bandwidth(ctx, scratch, buf, n_bw, &bw[i]);
		if (ret)
			goto out_fail;
	}
	bench_cleanup(ctx, scratch);
	shmx_close(ctx);
	if (cli->json)
		print_json(&info, scratch, iters, warmup, n_bw, lat,
			   sizeof(lat) / sizeof(lat[0]), bw,
			   sizeof(bw) / sizeof(bw[0]), c,
			   sizeof(c) / sizeof(c[0]), cli->duration_ms);
	else
		print_table(&info, scratch, iters, n_bw, lat,
			    sizeof(lat) / sizeof(lat[0]), bw,
			    sizeof(bw) / sizeof(bw[0]), c,
			    sizeof(c) / sizeof(c[0]), cli->duration_ms);
	free(t);
	free(buf);
	return CLI_OK;

out_fail:
	bench_cleanup(ctx, scratch);
	shmx_close(ctx);
	free(t);
	free(buf);
	return cli_fail(cli, ret, what);
}
