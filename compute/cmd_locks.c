/* SPDX-License-Identifier: MIT */
/*
 * cmd_locks.c - shmext locks (the node's global locks: mode, holders,
 * waiters, lease, reservations, fence) and shmext lock (take one from a
 * script: hold it for a while or while a command runs).
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "cli.h"
#include "output.h"
#include "util/clock.h"

extern char **environ;

/* Every lock of the node, by id, in a malloc'ed array. */
static int gather_locks(struct shmx_ctx *ctx, struct shmx_lock_info **out,
			size_t *count)
{
	struct shmx_lock_info *arr = NULL, *li;
	uint64_t from = 0;
	size_t n = 0;
	int ret;

	do {
		li = cli_grow(arr, n, sizeof(*li));
		if (!li) {
			ret = -ENOMEM;
			break;
		}
		arr = li;
		ret = shmx_lock_next(ctx, from, &arr[n]);
		if (ret)
			break;
		if (arr[n].id < from) {
			ret = -EPROTO; /* the node went backwards */
			break;
		}
		from = arr[n++].id + 1;
	} while (from);
	if (ret && ret != -ENOENT) {
		free(arr);
		return ret;
	}
	*out = arr;
	*count = n;
	return 0;
}

/* The mode; "held" when the node could not tell which (see holding). */
static const char *mode_name(int mode, uint32_t holding)
{
	switch (mode) {
	case 0:
		return holding ? "held" : "free";
	case SHMX_LOCK_EXCLUSIVE:
		return "exclusive";
	case SHMX_LOCK_SHARED:
		return "shared";
	}
	return "unknown";
}

/* The name of member @id, or NULL when it is not among @m. */
static const char *member_name(const struct shmx_member *m, size_t n,
			       shmx_node_t id)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].id == id)
			return m[i].name;
	return NULL;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Nanoseconds since the grant at @since_ns (the holder's clock: may be
 * negative when the clocks of two hosts disagree). */
static int64_t held_ns(uint64_t since_ns, int64_t now)
{
	return now - (int64_t)since_ns;
}

/* "350 ms", "1.25 s", "412 s". */
static const char *age(int64_t ns, char *buf, size_t len)
{
	int64_t ms = ns / 1000000;

	if (ms > -1000 && ms < 1000)
		snprintf(buf, len, "%lld ms", (long long)ms);
	else if (ms > -100000 && ms < 100000)
		snprintf(buf, len, "%.2f s", (double)ms / 1e3);
	else
		snprintf(buf, len, "%lld s", (long long)(ms / 1000));
	return buf;
}

/* Holders named in @li, at most SHMX_LOCK_HOLDERS_MAX. */
static uint32_t nr_named(const struct shmx_lock_info *li)
{
	return li->nr_holders < SHMX_LOCK_HOLDERS_MAX ? li->nr_holders
						      : SHMX_LOCK_HOLDERS_MAX;
}

static void json_locks(const struct shmx_lock_info *l, size_t n,
		       const struct shmx_member *m, size_t nm, shmx_node_t self,
		       int64_t now)
{
	struct jw w;

	jw_init(&w, stdout);
	jw_obj(&w, NULL);
	jw_u64(&w, "self", self);
	jw_u64(&w, "count", n);
	jw_arr(&w, "locks");
	for (size_t i = 0; i < n; i++) {
		jw_obj(&w, NULL);
		jw_u64(&w, "id", l[i].id);
		jw_str(&w, "name", l[i].name[0] ? l[i].name : NULL);
		jw_str(&w, "mode", mode_name(l[i].mode, l[i].holding));
		jw_u64(&w, "holding", l[i].holding);
		jw_arr(&w, "holders");
		for (uint32_t k = 0; k < nr_named(&l[i]); k++) {
			const __typeof__(l[i].holders[0]) *h = &l[i].holders[k];

			jw_obj(&w, NULL);
			jw_u64(&w, "node", h->node);
			jw_str(&w, "name", member_name(m, nm, h->node));
			jw_u64(&w, "fence", h->fence);
			jw_u64(&w, "since_ns", h->since_ns);
			jw_double(&w, "held_ms",
				  (double)held_ns(h->since_ns, now) / 1e6, 3);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_u64(&w, "waiters", l[i].waiters);
		jw_u64(&w, "lease_ms", l[i].lease_ms);
		jw_u64(&w, "reservations", l[i].reservations);
		jw_u64(&w, "creator", l[i].creator);
		jw_u64(&w, "fence", l[i].fence);
		jw_u64(&w, "word", l[i].word);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
}

/* "3 (worker-a), 4 +2": the holders, with their member names, and how
 * many more hold it unnamed. */
static const char *holders(const struct shmx_lock_info *li,
			   const struct shmx_member *m, size_t nm, char *buf,
			   size_t len)
{
	char shown[SHMX_NAME_MAX * 4];
	size_t o = 0;

	buf[0] = 0;
	for (uint32_t k = 0; k < nr_named(li) && o < len; k++) {
		const char *name = member_name(m, nm, li->holders[k].node);

		o += (size_t)snprintf(buf + o, len - o, "%s%u", k ? ", " : "",
				      li->holders[k].node);
		if (name && o < len)
			o += (size_t)snprintf(
				buf + o, len - o, " (%s)",
				out_printable(name, shown, sizeof(shown)));
	}
	if (li->holding > nr_named(li) && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%s+%u", o ? " " : "",
				      li->holding - nr_named(li));
	if (!o)
		snprintf(buf, len, "-");
	return buf;
}

/* The age of the oldest hold, or "-" when free. */
static const char *held_for(const struct shmx_lock_info *li, int64_t now,
			    char *buf, size_t len)
{
	uint64_t oldest = UINT64_MAX;

	for (uint32_t k = 0; k < nr_named(li); k++)
		if (li->holders[k].since_ns < oldest)
			oldest = li->holders[k].since_ns;
	if (oldest == UINT64_MAX) {
		snprintf(buf, len, "-");
		return buf;
	}
	return age(held_ns(oldest, now), buf, len);
}

static void print_locks(const struct shmx_lock_info *l, size_t n,
			const struct shmx_member *m, size_t nm, int64_t now)
{
	char name[SHMX_NAME_MAX * 4], who[1024], t[32];
	int wi = 2, wn = 4, wh = 7, wf = 5;

	printf("Locks: %zu\n", n);
	if (!n)
		return;
	for (size_t i = 0; i < n; i++) {
		wi = out_num_width(wi, l[i].id, 0);
		wn = out_width(wn, l[i].name[0] ? l[i].name : "-");
		wh = out_width(wh, holders(&l[i], m, nm, who, sizeof(who)));
		wf = out_num_width(wf, l[i].fence, 0);
	}
	printf("  %*s  %-*s  %-9s  %-*s  %9s  %7s  %8s  %8s  %*s\n", wi, "ID",
	       wn, "NAME", "MODE", wh, "HOLDERS", "HELD FOR", "WAITERS",
	       "LEASE", "RESERVED", wf, "FENCE");
	for (size_t i = 0; i < n; i++) {
		printf("  %*llu  %-*s  %-9s  %-*s  %9s  %7u  %5u ms  %8u  "
		       "%*llu\n",
		       wi, (unsigned long long)l[i].id, wn,
		       l[i].name[0]
			       ? out_printable(l[i].name, name, sizeof(name))
			       : "-",
		       mode_name(l[i].mode, l[i].holding), wh,
		       holders(&l[i], m, nm, who, sizeof(who)),
		       held_for(&l[i], now, t, sizeof(t)), l[i].waiters,
		       l[i].lease_ms, l[i].reservations, wf,
		       (unsigned long long)l[i].fence);
	}
}

int cmd_locks(struct cli *cli, int argc, char **argv)
{
	struct shmx_lock_info *l = NULL;
	struct shmx_member *m = NULL;
	struct shmx_ctx *ctx;
	size_t n = 0, nm = 0;
	shmx_node_t self;
	int64_t now;
	int ret;

	(void)argv;
	if (argc)
		return cli_usage(cli, "takes no arguments");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	self = shmx_self(ctx);
	ret = gather_locks(ctx, &l, &n);
	/* The holders' names are a courtesy: the list stands without them. */
	if (!ret && n && cli_members(ctx, &m, &nm))
		nm = 0;
	now = realtime_ns();
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, ret, "cannot list the locks");
	if (cli->json)
		json_locks(l, n, m, nm, self, now);
	else
		print_locks(l, n, m, nm, now);
	free(l);
	free(m);
	return CLI_OK;
}

/* Set by SIGINT and SIGTERM while lock holds: end the hold early. */
static volatile sig_atomic_t lock_stop;

static void on_stop(int sig)
{
	lock_stop = sig;
}

/* Catch SIGINT and SIGTERM (no SA_RESTART: waits end with EINTR). */
static void catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Hold for @ms, or until SIGINT or SIGTERM. */
static void hold(uint64_t ms)
{
	uint64_t until = shmx__now_ms() + ms, now;

	while (!lock_stop && (now = shmx__now_ms()) < until) {
		uint64_t left = until - now < 100 ? until - now : 100;

		shmx__sleep_us(left * 1000);
	}
}

/*
 * Run @argv with the fence in SHMEXT_LOCK_FENCE; *@status: its exit
 * status, 128 + the signal that killed it, or 127 when it could not start
 * (the returned error).  Returns 0 or -errno.
 */
static int run(char **argv, uint64_t fence, int *status)
{
	char buf[24];
	pid_t pid;
	int st, ret;

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)fence);
	if (setenv("SHMEXT_LOCK_FENCE", buf, 1)) {
		*status = 127;
		return -errno;
	}
	ret = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (ret) {
		*status = 127;
		return -ret;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	return 0;
}

/* The fence, as the first output of lock. */
static void print_fence(const struct cli *cli, const char *name,
			const struct shmx_lock *lock, int mode, uint64_t fence)
{
	struct jw w;

	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "lock", name);
		jw_u64(&w, "id", shmx_lock_id(lock));
		jw_str(&w, "mode", mode_name(mode, 1));
		jw_u64(&w, "fence", fence);
		jw_obj_end(&w);
	} else {
		printf("%llu\n", (unsigned long long)fence);
	}
	fflush(stdout);
}

/* Take @lock in @mode and report a failure; returns 0 or CLI_FAIL. */
static int take(const struct cli *cli, const char *name, struct shmx_lock *lock,
		int mode, uint64_t *fence)
{
	int ret = shmx_lock_acquire(lock, mode, -1, fence);
	char msg[SHMX_NAME_MAX + 128];

	if (!ret)
		return 0;
	if (ret == -ETIMEDOUT) {
		snprintf(msg, sizeof(msg),
			 "timed out waiting for lock '%s' (%d ms): %s", name,
			 cli->attr.comp_mask & SHMX_OPEN_ATTR_TIMEOUT
				 ? cli->attr.timeout_ms
				 : SHMX_DEFAULT_TIMEOUT_MS,
			 shmx_strerror(ret));
		cli_fail_msg(cli, ret, msg);
		fputs("hint: 'shmext locks' shows who holds it; --timeout MS "
		      "waits longer.\n",
		      stderr);
		return CLI_FAIL;
	}
	snprintf(msg, sizeof(msg), "cannot take lock '%s'", name);
	return cli_fail(cli, ret, msg);
}

/* Release @lock; a lease that ran out is a failure of its own. */
static int give_back(const struct cli *cli, const char *name,
		     struct shmx_lock *lock)
{
	int ret = shmx_lock_release(lock);
	char msg[SHMX_NAME_MAX + 160];

	if (ret == -ESTALE) {
		snprintf(msg, sizeof(msg),
			 "the lease of lock '%s' ran out before the release: "
			 "the hold was not exclusive to its end (see --lease)",
			 name);
		return cli_fail_msg(cli, ret, msg);
	}
	snprintf(msg, sizeof(msg), "cannot release lock '%s'", name);
	return ret ? cli_fail(cli, ret, msg) : CLI_OK;
}

int cmd_lock(struct cli *cli, int argc, char **argv)
{
	struct shmx_lock_attr attr = { .comp_mask = SHMX_LOCK_ATTR_LEASE,
				       .lease_ms = cli->lease_ms };
	int mode = cli->shared ? SHMX_LOCK_SHARED : SHMX_LOCK_EXCLUSIVE;
	int ret, status = CLI_OK, rc;
	char what[SHMX_NAME_MAX + 64];
	struct shmx_lock *lock;
	struct shmx_ctx *ctx;
	uint64_t fence = 0;

	if (argc < 1)
		return cli_usage(cli, "expects NAME [CMD...]");
	if (cli_name(cli, "lock", "NAME", argv[0]))
		return CLI_USAGE;
	if (argc > 1 && (cli->given & CLI_F_HOLD))
		return cli_usage(cli, "--hold and CMD exclude each other");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_lock_reserve_attr(
		ctx, argv[0], cli->given & CLI_F_LEASE ? &attr : NULL, &lock);
	if (ret) {
		snprintf(what, sizeof(what), "cannot reserve lock '%s'",
			 argv[0]);
		ret = cli_fail(cli, ret, what);
		shmx_close(ctx);
		return ret;
	}
	catch_stop();
	status = take(cli, argv[0], lock, mode, &fence);
	if (status == CLI_OK) {
		print_fence(cli, argv[0], lock, mode, fence);
		if (argc > 1) {
			ret = run(argv + 1, fence, &status);
			if (ret) {
				snprintf(what, sizeof(what), "cannot run '%s'",
					 argv[1]);
				cli_fail(cli, ret, what);
			}
		} else {
			hold(cli->hold_ms);
		}
		rc = give_back(cli, argv[0], lock);
		if (!status)
			status = rc;
	}
	/*
	 * The reservation is refused while others hold or wait for the
	 * lock; leaving the node (shmx_close) gives it up then.
	 */
	ret = shmx_lock_unreserve(lock);
	if (ret && ret != -EBUSY && ret != -ENOTCONN && !status)
		status = cli_fail(cli, ret, "cannot give up the reservation");
	shmx_close(ctx);
	if (lock_stop && !status)
		status = 128 + lock_stop;
	return status;
}
