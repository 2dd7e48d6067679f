/* SPDX-License-Identifier: MIT */
/*
 * cmd_demo.c - shmext demo: several compute processes share the node's
 * memory.  The parent allocates the demo's area from the pool "shmext-demo"
 * (created if need be), lays it out and publishes it as the root pointer;
 * each forked worker joins on its own, finds the area through the root
 * pointer, writes its own 4 KiB slot, waits at a fetch-add barrier, reads
 * and checks every other slot, and bumps a shared fetch-add counter R
 * times.  The total must come out exactly N * R.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "util/clock.h"

#define DEMO_POOL "shmext-demo"
#define DEMO_POOL_SIZE (1ull << 20) /* room for the area of 64 workers */
#define DEMO_SLOT 4096ull	    /* one slot per worker, after the header */
#define DEMO_MAX_WORKERS 64
#define DEMO_BARRIER_S 30 /* how long a worker waits for the others */
#define DEMO_MAGIC 0x6f6d6564786d6873ull /* "shmxdemo" */

/* The area's first 4 KiB; every field is a 64-bit word. */
struct demo_hdr {
	uint64_t magic;
	uint64_t workers;
	uint64_t rounds;
	uint64_t slots;	  /* gaddr of worker 0's slot */
	uint64_t barrier; /* fetch-add: workers whose slot is written */
	uint64_t counter; /* fetch-add: the shared counter */
	uint64_t abort;	  /* fetch-add: non-zero once a worker failed */
};

/* The area: allocated by the parent, found by workers at the root. */
static shmx_gaddr_t area = SHMX_GADDR_NULL;

#define HDR(field) (area + offsetof(struct demo_hdr, field))

enum demo_stage {
	ST_JOIN,
	ST_ROOT,
	ST_WRITE,
	ST_BARRIER,
	ST_VERIFY,
	ST_ADD,
	ST_DONE,
	ST_DIED, /* set by the parent: no report came */
};

static const char *const stage_name[] = {
	[ST_JOIN] = "join",
	[ST_ROOT] = "find the area through the root pointer",
	[ST_WRITE] = "write its slot",
	[ST_BARRIER] = "barrier",
	[ST_VERIFY] = "verify the peers' slots",
	[ST_ADD] = "fetch-add",
	[ST_DONE] = "done",
	[ST_DIED] = "an unknown point: the process died",
};

/* What a worker reports to the parent through its pipe. */
struct demo_report {
	int32_t status; /* 0 or -errno */
	int32_t stage;	/* enum demo_stage reached (ST_DONE when ok) */
	int32_t wrote;
	uint32_t verified;
	uint64_t adds;
	uint64_t ns;
	char detail[120];
};

/* The bytes worker @w writes into its slot. */
static void slot_fill(uint8_t *p, unsigned w)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "demo-worker-%u's slot | ", w);

	for (size_t i = 0; i < DEMO_SLOT; i++)
		p[i] = (uint8_t)line[i % (size_t)n];
}

/* Wait until every worker passed the barrier, one failed, or time ran out. */
static int barrier_wait(struct shmx_ctx *ctx, shmx_gaddr_t root,
			uint64_t workers, struct demo_report *r)
{
	uint64_t until = shmx__now_ms() + DEMO_BARRIER_S * 1000ull;
	uint64_t pause_us = 50;
	struct demo_hdr h;
	int ret;

	for (;;) {
		ret = shmx_read(ctx, root, &h, sizeof(h));
		if (ret)
			return ret;
		if (h.barrier >= workers)
			return 0;
		if (h.abort) {
			snprintf(r->detail, sizeof(r->detail),
				 "another worker failed; %llu of %llu arrived",
				 (unsigned long long)h.barrier,
				 (unsigned long long)workers);
			return -ECANCELED;
		}
		if (shmx__now_ms() > until) {
			snprintf(
				r->detail, sizeof(r->detail),
				"only %llu of %llu workers arrived within %d s",
				(unsigned long long)h.barrier,
				(unsigned long long)workers, DEMO_BARRIER_S);
			return -ETIMEDOUT;
		}
		shmx__sleep_us(pause_us);
		pause_us = pause_us < 2000 ? pause_us * 2 : 2000;
	}
}

static int worker_run(struct shmx_ctx *ctx, unsigned me, struct demo_report *r)
{
	static uint8_t mine[DEMO_SLOT], theirs[DEMO_SLOT], want[DEMO_SLOT];
	shmx_gaddr_t root;
	struct demo_hdr h;
	int ret, first = 0;

	/* Find the demo's area the way any client would: the root pointer. */
	r->stage = ST_ROOT;
	ret = shmx_root_get(ctx, &root);
	if (!ret)
		ret = root == SHMX_GADDR_NULL
			      ? -ENOENT
			      : shmx_read(ctx, root, &h, sizeof(h));
	if (ret)
		return ret;
	area = root;
	if (h.magic != DEMO_MAGIC || me >= h.workers) {
		snprintf(r->detail, sizeof(r->detail),
			 "no demo area for worker %u at the root pointer "
			 "0x%llx",
			 me, (unsigned long long)root);
		return -EBADMSG;
	}

	r->stage = ST_WRITE;
	slot_fill(mine, me);
	ret = shmx_write(ctx, h.slots + me * DEMO_SLOT, mine, DEMO_SLOT);
	if (!ret)
		ret = shmx_fadd64(ctx,
				  root + offsetof(struct demo_hdr, barrier), 1,
				  NULL);
	if (ret)
		return ret;
	r->wrote = 1;

	r->stage = ST_BARRIER;
	ret = barrier_wait(ctx, root, h.workers, r);
	if (ret)
		return ret;

	r->stage = ST_VERIFY;
	for (unsigned w = 0; w < h.workers; w++) {
		int err;

		if (w == me)
			continue;
		err = shmx_read(ctx, h.slots + w * DEMO_SLOT, theirs,
				DEMO_SLOT);
		slot_fill(want, w);
		if (!err && memcmp(want, theirs, DEMO_SLOT) != 0) {
			size_t at = 0;

			while (want[at] == theirs[at])
				at++;
			err = -EIO;
			if (!first)
				snprintf(r->detail, sizeof(r->detail),
					 "demo-worker-%u's slot holds the "
					 "wrong bytes (from offset %zu)",
					 w, at);
		}
		if (err && !first)
			first = err;
		if (!err)
			r->verified++;
	}
	if (first)
		return first;

	r->stage = ST_ADD;
	for (; r->adds < h.rounds; r->adds++) {
		ret = shmx_fadd64(ctx,
				  root + offsetof(struct demo_hdr, counter), 1,
				  NULL);
		if (ret)
			return ret;
	}
	r->stage = ST_DONE;
	return 0;
}

/*
 * A forked worker: wait for the parent's go (a byte on @go; end of file
 * means the demo was called off), join as demo-worker-@me, run, report on
 * @fd, exit.  Workers are forked before any context exists in the parent:
 * RDMA device contexts do not survive fork.
 */
static void __attribute__((noreturn))
worker(const struct cli *cli, unsigned me, int go, int fd)
{
	struct shmx_open_attr attr = cli->attr;
	struct demo_report r = { .stage = ST_JOIN };
	char name[SHMX_NAME_MAX], c;
	struct shmx_ctx *ctx;
	uint64_t t0;
	ssize_t n;

	if (read(go, &c, 1) != 1)
		_exit(2);
	close(go);
	t0 = shmx__now_ns();
	snprintf(name, sizeof(name), "demo-worker-%u", me);
	attr.comp_mask |= SHMX_OPEN_ATTR_NAME;
	attr.name = name;
	r.status = shmx_open(&attr, &ctx);
	if (!r.status) {
		r.status = worker_run(ctx, me, &r);
		/* Do not let the others wait for us until their timeout. */
		if (r.status && r.stage <= ST_BARRIER &&
		    r.status != -ECANCELED && area != SHMX_GADDR_NULL)
			shmx_fadd64(ctx, HDR(abort), 1, NULL);
		shmx_close(ctx);
	}
	r.ns = shmx__now_ns() - t0;
	n = write(fd, &r, sizeof(r));
	_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
}

/*
 * Allocate the area from the demo's pool, lay it out (header, then zeroed
 * slots so that stale bytes of an earlier run cannot pass for a peer's)
 * and publish it as the root pointer.
 */
static int demo_prepare(struct cli *cli, shmx_gaddr_t *prev_root)
{
	size_t len = (size_t)(cli->workers + 1) * DEMO_SLOT;
	struct demo_hdr h = {
		.magic = DEMO_MAGIC,
		.workers = cli->workers,
		.rounds = cli->rounds,
	};
	struct shmx_pool *pool;
	struct shmx_ctx *ctx;
	char msg[160], size[32];
	uint8_t *buf;
	int ret;

	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_pool_open(ctx, DEMO_POOL, DEMO_POOL_SIZE, SHMX_CREAT, &pool);
	if (ret == -ENOSPC || ret == -EFBIG) {
		snprintf(msg, sizeof(msg),
			 "the node has no room for the demo's pool '%s' of %s",
			 DEMO_POOL,
			 out_bytes(DEMO_POOL_SIZE, size, sizeof(size)));
		shmx_close(ctx);
		return cli_fail_msg(cli, ret, msg);
	}
	if (ret)
		goto out_fail;
	ret = shmx_alloc(pool, len, 0, &area);
	shmx_pool_close(pool);
	if (ret)
		goto out_fail;
	h.slots = area + DEMO_SLOT;
	buf = calloc(1, len);
	if (!buf) {
		ret = -ENOMEM;
		goto out_fail;
	}
	memcpy(buf, &h, sizeof(h));
	ret = shmx_root_get(ctx, prev_root);
	if (!ret)
		ret = shmx_write(ctx, area, buf, len);
	if (!ret)
		ret = shmx_root_set(ctx, area);
	free(buf);
	if (ret)
		goto out_fail;
	shmx_close(ctx);
	return 0;

out_fail:
	if (area != SHMX_GADDR_NULL)
		shmx_release(ctx, area);
	shmx_close(ctx);
	return cli_fail(cli, ret, "cannot prepare the demo's area");
}

/* Tell the workers still waiting at the barrier to give up. */
static void demo_abort(struct shmx_ctx *mon, int *aborted)
{
	if (mon && !*aborted)
		shmx_fadd64(mon, HDR(abort), 1, NULL);
	*aborted = 1;
}

/* Collect every started worker's report; set abort on early failures. */
static void demo_collect(struct shmx_ctx *mon, int *fds, unsigned started,
			 struct demo_report *r, int *aborted)
{
	struct pollfd pfd[DEMO_MAX_WORKERS];
	unsigned left = started;

	for (unsigned i = 0; i < started; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	while (left) {
		if (poll(pfd, started, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (unsigned i = 0; i < started; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = read(pfd[i].fd, &r[i], sizeof(r[i]));
			if (n != (ssize_t)sizeof(r[i])) {
				memset(&r[i], 0, sizeof(r[i]));
				r[i].status = -ECHILD;
				r[i].stage = ST_DIED;
			}
			if (r[i].status &&
			    (r[i].stage <= ST_BARRIER || r[i].stage == ST_DIED))
				demo_abort(mon, aborted);
			close(pfd[i].fd);
			pfd[i].fd = -1;
			left--;
		}
	}
}

static void print_worker(unsigned i, const struct demo_report *r,
			 unsigned workers, uint64_t rounds)
{
	printf("demo-worker-%u: wrote its slot: %s, verified %u of %u peers, "
	       "%llu of %llu fetch-adds, %.2f s",
	       i, r->wrote ? "yes" : "no", r->verified, workers - 1,
	       (unsigned long long)r->adds, (unsigned long long)rounds,
	       (double)r->ns / 1e9);
	if (r->stage == ST_DIED)
		printf("; DIED: %s", r->detail);
	else if (r->status)
		printf("; FAILED at %s: %s", stage_name[r->stage],
		       shmx_strerror(r->status));
	if (r->status && r->stage != ST_DIED && r->detail[0])
		printf(" (%s)", r->detail);
	putchar('\n');
}

/* The FAIL line: how many failed, the first cause, the counter. */
static void print_fail(const struct demo_report *r, unsigned n, unsigned ok,
		       uint64_t counter, uint64_t expected)
{
	const struct demo_report *cause = NULL;
	unsigned who = 0;

	/* The first failure that was not just giving up after another's. */
	for (unsigned i = 0; i < n && !cause; i++)
		if (r[i].status && r[i].status != -ECANCELED)
			cause = &r[who = i];
	printf("FAIL: %u of %u workers succeeded", ok, n);
	if (cause && cause->stage == ST_DIED)
		printf(" (demo-worker-%u died: %s)", who, cause->detail);
	else if (cause)
		printf(" (demo-worker-%u failed at %s: %s)", who,
		       stage_name[cause->stage], shmx_strerror(cause->status));
	if (counter == expected)
		printf(", the counter is exact\n");
	else
		printf(", the counter is %llu instead of %llu\n",
		       (unsigned long long)counter,
		       (unsigned long long)expected);
}

static void json_worker(struct jw *w, unsigned i, const struct demo_report *r)
{
	char name[32];

	snprintf(name, sizeof(name), "demo-worker-%u", i);
	jw_obj(w, NULL);
	jw_u64(w, "worker", i);
	jw_str(w, "name", name);
	jw_bool(w, "ok", !r->status);
	jw_bool(w, "wrote", r->wrote);
	jw_u64(w, "verified", r->verified);
	jw_u64(w, "adds", r->adds);
	jw_double(w, "seconds", (double)r->ns / 1e9, 3);
	if (r->status) {
		jw_str(w, "stage", stage_name[r->stage]);
		jw_str(w, "error",
		       r->stage == ST_DIED ? "the worker process died"
					   : shmx_strerror(r->status));
		jw_str(w, "detail", r->detail[0] ? r->detail : NULL);
	} else {
		jw_null(w, "error");
	}
	jw_obj_end(w);
}

int cmd_demo(struct cli *cli, int argc, char **argv)
{
	static struct demo_report r[DEMO_MAX_WORKERS];
	const unsigned n = cli->workers;
	int fds[DEMO_MAX_WORKERS], go[2], aborted = 0, pass, ret;
	shmx_gaddr_t prev_root = SHMX_GADDR_NULL, root = SHMX_GADDR_NULL;
	pid_t pid[DEMO_MAX_WORKERS];
	struct shmx_ctx *mon = NULL;
	unsigned started = 0, ok = 0;
	struct demo_hdr h = { 0 };
	uint64_t t0;
	struct jw w;

	if (argc)
		return cli_usage(cli, "takes no arguments (see --workers and "
				      "--rounds)");
	if (pipe(go))
		return cli_fail(cli, -errno, "cannot start the workers");
	fflush(NULL);
	for (; started < n; started++) {
		int p[2];

		if (pipe(p))
			break;
		pid[started] = fork();
		if (pid[started] < 0) {
			close(p[0]);
			close(p[1]);
			break;
		}
		if (pid[started] == 0) {
			close(p[0]);
			close(go[1]);
			for (unsigned i = 0; i < started; i++)
				close(fds[i]);
			worker(cli, started, go[0], p[1]);
		}
		close(p[1]);
		fds[started] = p[0];
	}
	close(go[0]);
	if (started < n)
		fprintf(stderr,
			"shmext: demo: could only start %u of %u "
			"workers: %s\n",
			started, n, strerror(errno));

	/* Every fork is done: now the parent may open contexts. */
	ret = demo_prepare(cli, &prev_root);
	if (ret) {
		close(go[1]); /* the workers see end of file and leave */
		for (unsigned i = 0; i < started; i++) {
			close(fds[i]);
			waitpid(pid[i], NULL, 0);
		}
		return ret;
	}
	if (!cli->json)
		printf("demo: %u workers x %llu rounds on %s; area at 0x%llx "
		       "(the root pointer), %llu-byte slots from 0x%llx\n",
		       n, (unsigned long long)cli->rounds, cli_node(cli),
		       (unsigned long long)area, DEMO_SLOT,
		       (unsigned long long)(area + DEMO_SLOT));
	fflush(NULL);
	t0 = shmx__now_ns();
	for (unsigned i = 0; i < started; i++)
		if (write(go[1], "g", 1) != 1)
			break;
	close(go[1]);
	mon = cli_open(cli);
	if (started < n)
		demo_abort(mon, &aborted);
	demo_collect(mon, fds, started, r, &aborted);
	for (unsigned i = 0; i < started; i++) {
		int st = 0;

		if (waitpid(pid[i], &st, 0) < 0 || r[i].stage != ST_DIED)
			continue;
		if (WIFSIGNALED(st))
			snprintf(r[i].detail, sizeof(r[i].detail),
				 "killed by signal %d (%s)", WTERMSIG(st),
				 strsignal(WTERMSIG(st)));
		else
			snprintf(r[i].detail, sizeof(r[i].detail),
				 "exited with status %d without a report",
				 WEXITSTATUS(st));
	}
	for (unsigned i = started; i < n; i++) {
		r[i].status = -EAGAIN;
		snprintf(r[i].detail, sizeof(r[i].detail), "never started");
	}
	t0 = shmx__now_ns() - t0;

	if (!mon)
		return CLI_FAIL;
	ret = shmx_read(mon, area, &h, sizeof(h));
	if (!ret)
		ret = shmx_root_get(mon, &root);
	/* Leave the root pointer to whoever had set it before us. */
	if (!ret && root == area && prev_root != area)
		ret = shmx_root_set(mon, prev_root);
	/* The area goes back to the pool (the allocator may have left). */
	if (!ret)
		ret = shmx_release(mon, area);
	shmx_close(mon);
	if (ret)
		return cli_fail(cli, ret, "cannot read the demo's counter");

	for (unsigned i = 0; i < n; i++)
		ok += !r[i].status && r[i].verified == n - 1 &&
		      r[i].adds == cli->rounds;
	pass = ok == n && h.counter == (uint64_t)n * cli->rounds;

	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "node", cli_node(cli));
		jw_u64(&w, "workers", n);
		jw_u64(&w, "rounds", cli->rounds);
		jw_u64(&w, "area", area);
		jw_u64(&w, "slots", area + DEMO_SLOT);
		jw_u64(&w, "slot_size", DEMO_SLOT);
		jw_arr(&w, "results");
		for (unsigned i = 0; i < n; i++)
			json_worker(&w, i, &r[i]);
		jw_arr_end(&w);
		jw_u64(&w, "counter", h.counter);
		jw_u64(&w, "expected", (uint64_t)n * cli->rounds);
		jw_double(&w, "seconds", (double)t0 / 1e9, 3);
		jw_bool(&w, "pass", pass);
		jw_obj_end(&w);
		return pass ? CLI_OK : CLI_FAIL;
	}
	for (unsigned i = 0; i < n; i++)
		print_worker(i, &r[i], n, cli->rounds);
	printf("counter: %llu, expected %u x %llu = %llu: %s\n",
	       (unsigned long long)h.counter, n,
	       (unsigned long long)cli->rounds,
	       (unsigned long long)n * cli->rounds,
	       h.counter == (uint64_t)n * cli->rounds ? "equal" : "NOT equal");
	if (pass)
		printf("PASS: %u workers shared the region in %.2f s\n", n,
		       (double)t0 / 1e9);
	else
		print_fail(r, n, ok, h.counter, (uint64_t)n * cli->rounds);
	return pass ? CLI_OK : CLI_FAIL;
}
