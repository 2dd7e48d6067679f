/* SPDX-License-Identifier: MIT */
/*
 * cmd_demo.c - shmext demo: several compute processes share the node's
 * memory.  Each writes its own slot, waits at a fetch-add barrier, reads
 * and checks every other slot, and bumps a shared counter; the total must
 * come out exact.  The demo's area is published as the root pointer.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

#define DEMO_BASE (1ull << 20)	     /* the demo's area: root points here */
#define DEMO_BARRIER (DEMO_BASE)     /* u64: workers that wrote their slot */
#define DEMO_COUNTER (DEMO_BASE + 8) /* u64: the shared counter */
#define DEMO_SLOT 4096
#define DEMO_SLOTS (DEMO_BASE + DEMO_SLOT)
#define DEMO_WAIT_S 30

/* What a worker reports to the parent through its pipe. */
struct demo_report {
	int status; /* 0 or -errno */
	int wrote;
	int verified;
	uint64_t adds;
	char what[96];
};

static void slot_fill(uint8_t *p, int w)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "slot of demo-worker-%d; ", w);

	for (size_t i = 0; i < DEMO_SLOT; i++)
		p[i] = (uint8_t)line[i % (size_t)n];
}

static int worker(struct cli *cli, int me, struct demo_report *r)
{
	uint8_t mine[DEMO_SLOT], theirs[DEMO_SLOT];
	struct shmx_open_attr attr = cli->attr;
	struct timespec pause = { 0, 1000000 };
	struct shmx_ctx *ctx;
	char name[SHMX_NAME_MAX];
	uint64_t v = 0;
	time_t until;
	int ret;

	snprintf(name, sizeof(name), "demo-worker-%d", me);
	attr.comp_mask |= SHMX_OPEN_ATTR_NAME;
	attr.name = name;
	ret = shmx_open(&attr, &ctx);
	if (ret) {
		snprintf(r->what, sizeof(r->what), "join");
		return ret;
	}
	slot_fill(mine, me);
	ret = shmx_write(ctx, DEMO_SLOTS + (uint64_t)me * DEMO_SLOT, mine,
			 DEMO_SLOT);
	if (!ret)
		ret = shmx_fadd64(ctx, DEMO_BARRIER, 1, NULL);
	if (ret) {
		snprintf(r->what, sizeof(r->what), "write my slot");
		goto out_close;
	}
	r->wrote = 1;
	/* Barrier: everyone has written before anyone reads. */
	until = time(NULL) + DEMO_WAIT_S;
	while (!(ret = shmx_read(ctx, DEMO_BARRIER, &v, 8)) &&
	       v < (uint64_t)opts.workers && time(NULL) < until)
		nanosleep(&pause, NULL);
	if (!ret && v < (uint64_t)opts.workers)
		ret = -ETIMEDOUT;
	if (ret) {
		snprintf(r->what, sizeof(r->what), "barrier");
		goto out_close;
	}
	for (int w = 0; w < opts.workers; w++) {
		if (w == me)
			continue;
		ret = shmx_read(ctx, DEMO_SLOTS + (uint64_t)w * DEMO_SLOT,
				theirs, DEMO_SLOT);
		if (ret) {
			snprintf(r->what, sizeof(r->what), "read slot %d", w);
			goto out_close;
		}
		slot_fill(mine, w);
		if (memcmp(mine, theirs, DEMO_SLOT)) {
			snprintf(r->what, sizeof(r->what),
				 "slot of worker %d holds the wrong bytes", w);
			ret = -EIO;
			goto out_close;
		}
		r->verified++;
	}
	for (; r->adds < opts.rounds; r->adds++) {
		ret = shmx_fadd64(ctx, DEMO_COUNTER, 1, NULL);
		if (ret) {
			snprintf(r->what, sizeof(r->what), "fetch-add");
			break;
		}
	}
out_close:
	shmx_close(ctx);
	return ret;
}

/* Zero the demo's words and publish its area; closes before any fork. */
static int demo_prepare(struct cli *cli)
{
	uint64_t zero[2] = { 0, 0 };
	struct shmx_info info;
	struct shmx_ctx *ctx = cli_open(cli);
	int ret;

	if (!ctx)
		return -ENOTCONN;
	ret = shmx_info(ctx, &info);
	if (!ret &&
	    info.region_size < DEMO_SLOTS + (uint64_t)opts.workers * DEMO_SLOT)
		ret = -ENOSPC;
	if (!ret)
		ret = shmx_write(ctx, DEMO_BASE, zero, sizeof(zero));
	if (!ret)
		ret = shmx_root_set(ctx, DEMO_BASE);
	shmx_close(ctx);
	return ret;
}

int cmd_demo(struct cli *cli, int argc, char **argv)
{
	struct demo_report r[64];
	int fds[64][2], pass = 1, ret;
	pid_t pid[64];
	struct shmx_ctx *ctx;
	uint64_t total = 0;

	if (argc)
		return cli_usage(cli, "takes no arguments (see --workers, "
				      "--rounds)");
	ret = demo_prepare(cli);
	if (ret == -ENOTCONN)
		return CLI_FAIL;
	if (ret)
		return cli_fail(cli, "prepare the demo area", ret);
	memset(r, 0, sizeof(r));
	fflush(NULL);
	for (int i = 0; i < opts.workers; i++) {
		if (pipe(fds[i]))
			return cli_fail(cli, "pipe", -errno);
		pid[i] = fork();
		if (pid[i] < 0)
			return cli_fail(cli, "fork", -errno);
		if (pid[i] == 0) {
			struct demo_report mine = { 0 };

			close(fds[i][0]);
			mine.status = worker(cli, i, &mine);
			_exit(write(fds[i][1], &mine, sizeof(mine)) ==
					      sizeof(mine)
				      ? 0
				      : 1);
		}
		close(fds[i][1]);
	}
	for (int i = 0; i < opts.workers; i++) {
		if (read(fds[i][0], &r[i], sizeof(r[i])) != sizeof(r[i])) {
			r[i].status = -EPIPE;
			snprintf(r[i].what, sizeof(r[i].what), "died");
		}
		close(fds[i][0]);
		waitpid(pid[i], NULL, 0);
	}

	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_read(ctx, DEMO_COUNTER, &total, 8);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, "read the counter", ret);

	for (int i = 0; i < opts.workers; i++) {
		pass &= r[i].status == 0 && r[i].verified == opts.workers - 1 &&
			r[i].adds == opts.rounds;
		if (cli->json)
			continue;
		printf("demo-worker-%d: wrote its slot %s, verified %d of %d "
		       "peers, %llu fetch-adds",
		       i, r[i].wrote ? "yes" : "no", r[i].verified,
		       opts.workers - 1, (unsigned long long)r[i].adds);
		if (r[i].status)
			printf(": %s: %s", r[i].what,
			       shmx_strerror(r[i].status));
		putchar('\n');
	}
	pass &= total == (uint64_t)opts.workers * opts.rounds;
	if (cli->json) {
		printf("{\"workers\":%d,\"rounds\":%llu,\"counter\":%llu,"
		       "\"expected\":%llu,\"pass\":%s}\n",
		       opts.workers, (unsigned long long)opts.rounds,
		       (unsigned long long)total,
		       (unsigned long long)opts.workers * opts.rounds,
		       pass ? "true" : "false");
	} else {
		printf("shared counter: %llu (expected %d x %llu = %llu)\n",
		       (unsigned long long)total, opts.workers,
		       (unsigned long long)opts.rounds,
		       (unsigned long long)opts.workers * opts.rounds);
		printf("%s\n", pass ? "PASS" : "FAIL");
	}
	return pass ? CLI_OK : CLI_FAIL;
}
