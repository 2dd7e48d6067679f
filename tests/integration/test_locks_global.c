/* SPDX-License-Identifier: MIT */
/*
 * test_locks_global.c - global locks against a real shmnode and real client
 * processes: mutual exclusion of a non-atomic read-modify-write, shared
 * holders that overlap while writers exclude them, the ticket queue's
 * fairness, a holder killed with SIGKILL and one stopped past its lease
 * (the lock taken over within a bound, fences that grow, the stale holder
 * told -ESTALE), the errors of misuse, named and anonymous locks and the
 * listing, and the reservations of a member that leaves or dies.
 *
 * The test makes one block of memory; client processes find it by the
 * pool's name and talk to the test through words in it (flags raised,
 * values reported), each test in its own region.  Every wait is bounded.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util/clock.h"

#define AREA_NAME "locks-area"
#define AREA_SIZE (64u << 10)
#define REGION 256 /* bytes of the area per region (32 words) */
/* Word @i of region @r. */
#define W(r, i) (base + (uint64_t)(r)*REGION + 8 * (uint64_t)(i))

#define WAIT_MS 10000	     /* the longest a step waits for another */
#define LONG_LEASE_MS 30000u /* where exclusion is counted: no takeover */

static struct node_proc node;
static struct shmx_ctx *ctx; /* the test's own */
static shmx_gaddr_t base;    /* the area (in a client: found by name) */
static pid_t kids[8];	     /* client processes not reaped yet */

static int group_setup(void **state)
{
	/*
	 * shmnode's default client timeout (3 s) is kept: it must outlast
	 * the stop of test_stopped_holder (STOP_MS).  Remote nodes get
	 * more from the harness.
	 */
	static const char *const args[] = { "--size", "16M", NULL };

	if (node_start(&node, args) || client_open(&node, "locks", 0, &ctx))
		return -1;
	return area_create(ctx, AREA_NAME, AREA_SIZE, &base);
}

static int group_teardown(void **state)
{
	shmx_close(ctx);
	return node_stop(&node) == 0 ? 0 : -1;
}

/* After every test: no client process outlives it. */
static int kids_cleanup(void **state)
{
	for (int k = 0; k < 8; k++) {
		if (kids[k] > 0) {
			kill(kids[k], SIGKILL);
			waitpid(kids[k], NULL, 0);
		}
		kids[k] = 0;
	}
	return 0;
}

/* Start a client process running @fn(@index); kept in kids[]. */
static pid_t kid_start(int (*fn)(int, void *), int index)
{
	int k;

	for (k = 0; k < 8 && kids[k]; k++)
		;
	assert_true(k < 8);
	kids[k] = spawn_client(fn, index, &node);
	assert_true(kids[k] > 0);
	return kids[k];
}

/* Wait for @pid to end; its exit status (0 = success), or -1. */
static int kid_reap(pid_t pid)
{
	int st = reap(pid, WAIT_MS / 1000);

	for (int k = 0; k < 8; k++)
		if (kids[k] == pid && st >= 0)
			kids[k] = 0;
	return st;
}

/* --- words in the area -------------------------------------------------- */

static int put(struct shmx_ctx *c, shmx_gaddr_t at, uint64_t v)
{
	return shmx_write(c, at, &v, 8);
}

/* In the test: the word at @at. */
static uint64_t word(shmx_gaddr_t at)
{
	uint64_t v = 0;

	assert_int_equal(shmx_read(ctx, at, &v, 8), 0);
	return v;
}

/* Poll the word at @at through @c until it is at least @want, up to @ms.
 * 0, -ETIMEDOUT, or the read's error. */
static int wait_word(struct shmx_ctx *c, shmx_gaddr_t at, uint64_t want, int ms)
{
	uint64_t end = shmx__now_ms() + (uint64_t)ms, v;
	int ret;

	for (;;) {
		ret = shmx_read(c, at, &v, 8);
		if (ret || v >= want)
			return ret;
		if (shmx__now_ms() >= end)
			return -ETIMEDOUT;
		shmx__sleep_us(1000);
	}
}

/* Raise the word at @at to at least @v (compare-and-swap).  0 or -errno. */
static int raise_to(struct shmx_ctx *c, shmx_gaddr_t at, uint64_t v)
{
	uint64_t cur = 0, old;
	int ret;

	for (;;) {
		ret = shmx_cas64(c, at, cur, v, &old);
		if (ret || old == cur || old >= v)
			return ret;
		cur = old;
	}
}

/* In a client process: its own context ("@role-@index") and the area. */
static int child_open(void *arg, const char *role, int index,
		      struct shmx_ctx **c)
{
	char name[SHMX_NAME_MAX];

	snprintf(name, sizeof(name), "%s-%d", role, index);
	if (client_open(arg, name, 0, c))
		return -1;
	return area_find(*c, AREA_NAME, &base);
}

/* --- locks ------------------------------------------------------------- */

/* The listing's entry of lock @id.  0 or -ENOENT (or the call's error). */
static int lock_info(uint64_t id, struct shmx_lock_info *info)
{
	int ret = shmx_lock_next(ctx, id, info);

	if (!ret && info->id != id)
		ret = -ENOENT;
	return ret;
}

/* What the listing said, when a wait for something else timed out. */
static void print_info(const struct shmx_lock_info *i)
{
	print_message(
		"lock %llu '%s': lease %u ms, %u reservations, mode %d, "
		"%u holding (%u named: node %llu fence %llu), %u waiting, "
		"fence %llu, word %#llx\n",
		(unsigned long long)i->id, i->name, i->lease_ms,
		i->reservations, i->mode, i->holding, i->nr_holders,
		(unsigned long long)(i->nr_holders ? i->holders[0].node : 0),
		(unsigned long long)(i->nr_holders ? i->holders[0].fence : 0),
		i->waiters, (unsigned long long)i->fence,
		(unsigned long long)i->word);
}

/* In the test: create the lock @name with a lease of @lease_ms. */
static struct shmx_lock *make_lock(const char *name, uint32_t lease_ms)
{
	struct shmx_lock_attr attr = {
		.comp_mask = SHMX_LOCK_ATTR_LEASE,
		.lease_ms = lease_ms,
	};
	struct shmx_lock_info info;
	struct shmx_lock *l = NULL;

	assert_int_equal(shmx_lock_reserve_attr(ctx, name, &attr, &l), 0);
	assert_int_equal(lock_info(shmx_lock_id(l), &info), 0);
	assert_string_equal(info.name, name);
	assert_int_equal(info.lease_ms, lease_ms); /* this call made it */
	assert_int_equal(info.creator, shmx_self(ctx));
	return l;
}

/*
 * Poll the listing of lock @id until it shows @holding holds, @waiters
 * waiters and as holder @holder (0: none named), up to WAIT_MS; the last
 * entry read in *@info.  0 or -ETIMEDOUT (or the call's error).
 */
static int wait_listing(uint64_t id, unsigned holding, unsigned waiters,
			shmx_node_t holder, struct shmx_lock_info *info)
{
	uint64_t end = shmx__now_ms() + WAIT_MS;
	int ret;

	for (;;) {
		ret = lock_info(id, info);
		if (ret)
			return ret;
		if (info->holding == holding && info->waiters == waiters &&
		    (holder ? info->nr_holders == 1 &&
				      info->holders[0].node == holder
			    : info->nr_holders == 0))
			return 0;
		if (shmx__now_ms() >= end) {
			print_info(info);
			return -ETIMEDOUT;
		}
		shmx__sleep_us(5000);
	}
}

/*
 * A holder (tests 4 to 7): reserves "holder-@index/10", reports its lock
 * id and node id, raises H_WAITING and acquires exclusively; then reports
 * the fence, raises H_HELD and waits for H_GO (the test may kill or stop
 * it meanwhile); then checks and releases, reports both results, raises
 * H_DONE and leaves.  Its words: region @index.
 */
enum {
	H_HELD,
	H_FENCE,
	H_ID,
	H_SELF,
	H_WAITING,
	H_GO,
	H_CHECK,
	H_RELEASE,
	H_DONE,
};

static int hold_child(int index, void *arg)
{
	struct shmx_ctx *c;
	struct shmx_lock *l;
	char name[32];
	uint64_t fence;
	int check, rel;

	snprintf(name, sizeof(name), "holder-%d", index / 10);
	CHECK(child_open(arg, "holder", index, &c) == 0);
	CHECK(shmx_lock_reserve(c, name, &l) == 0);
	CHECK(put(c, W(index, H_ID), shmx_lock_id(l)) == 0);
	CHECK(put(c, W(index, H_SELF), shmx_self(c)) == 0);
	CHECK(put(c, W(index, H_WAITING), 1) == 0);
	CHECK(shmx_lock_acquire(l, SHMX_LOCK_EXCLUSIVE, WAIT_MS, &fence) == 0);
	CHECK(put(c, W(index, H_FENCE), fence) == 0);
	CHECK(put(c, W(index, H_HELD), 1) == 0);
	CHECK(wait_word(c, W(index, H_GO), 1, WAIT_MS) == 0);
	check = shmx_lock_check(l, fence);
	rel = shmx_lock_release(l);
	CHECK(put(c, W(index, H_CHECK), (uint64_t)(int64_t)check) == 0);
	CHECK(put(c, W(index, H_RELEASE), (uint64_t)(int64_t)rel) == 0);
	CHECK(put(c, W(index, H_DONE), 1) == 0);
	/* Leaving gives the reservation up (others may still wait). */
	shmx_close(c);
	return 0;
}

/* In the test: a holder's result word as the int it reported. */
static int result(int index, int which)
{
	return (int)(int64_t)word(W(index, which));
}

/* --- 1. mutual exclusion ------------------------------------------------ */

#define MX_PROCS 4
#define MX_ROUNDS 5000
/* Between VMs (tests/rxe: emulated RDMA under qemu, one pass of every
 * scenario in 900 s) fewer rounds, as many processes. */
#define MX_ROUNDS_REMOTE 1000

static int mx_rounds(void)
{
	return test_remote() ? MX_ROUNDS_REMOTE : MX_ROUNDS;
}

/* mx_rounds() holds, each a read, an increment and a write of one word
 * (not atomic: only the lock keeps increments from being lost). */
static int mutex_child(int me, void *arg)
{
	struct shmx_ctx *c;
	struct shmx_lock *l;
	uint64_t fence, last = 0, v;
	int first = 1;

	CHECK(child_open(arg, "mutex", me, &c) == 0);
	CHECK(shmx_lock_reserve(c, "mutex", &l) == 0);
	for (int i = 0; i < mx_rounds(); i++) {
		CHECK(shmx_lock_acquire(l, SHMX_LOCK_EXCLUSIVE, WAIT_MS,
					&fence) == 0);
		if (!first && fence <= last)
			fprintf(stderr,
				"mutex-%d: hold %d: fence %#llx after %#llx\n",
				me, i, (unsigned long long)fence,
				(unsigned long long)last);
		CHECK(first || fence > last);
		first = 0;
		last = fence;
		CHECK(shmx_read(c, W(1, 0), &v, 8) == 0);
		v++;
		CHECK(shmx_write(c, W(1, 0), &v, 8) == 0);
		CHECK(shmx_lock_release(l) == 0);
	}
	/* Leaving gives the reservation up (others may still wait). */
	shmx_close(c);
	return 0;
}

static void test_mutual_exclusion(void **state)
{
	struct shmx_lock *l = make_lock("mutex", LONG_LEASE_MS);

	assert_int_equal(run_clients(MX_PROCS, mutex_child, &node, 240), 0);
	/* Not one increment lost: no two holders were ever inside. */
	assert_int_equal(word(W(1, 0)), MX_PROCS * mx_rounds());
	assert_int_equal(shmx_lock_unreserve(l), 0);
}

/* --- 2. shared holders overlap, writers exclude ------------------------- */

#define RW_READERS 3
#define RW_WRITERS 2
#define RW_WRITES 20	      /* exclusive holds per writer */
#define RW_READS_MAX 400      /* shared holds per reader at most */
#define RW_READ_HOLD_US 20000 /* long enough for readers to meet */
enum { RW_RIN, RW_WIN, RW_MAX, RW_BAD, RW_WDONE };

static int rw_reader(struct shmx_ctx *c, struct shmx_lock *l)
{
	uint64_t old, w, done = 0, most = 0;

	for (int i = 0; i < RW_READS_MAX; i++) {
		CHECK(shmx_lock_acquire(l, SHMX_LOCK_SHARED, WAIT_MS, NULL) ==
		      0);
		CHECK(shmx_fadd64(c, W(2, RW_RIN), 1, &old) == 0);
		CHECK(raise_to(c, W(2, RW_MAX), old + 1) == 0);
		CHECK(shmx_read(c, W(2, RW_WIN), &w, 8) == 0);
		shmx__sleep_us(RW_READ_HOLD_US);
		CHECK(shmx_read(c, W(2, RW_WIN), &old, 8) == 0);
		if (w || old)
			CHECK(shmx_fadd64(c, W(2, RW_BAD), 1, NULL) == 0);
		CHECK(shmx_fadd64(c, W(2, RW_RIN), (uint64_t)-1, NULL) == 0);
		CHECK(shmx_lock_release(l) == 0);
		/* Until the writers are done and readers have met. */
		CHECK(shmx_read(c, W(2, RW_WDONE), &done, 8) == 0);
		CHECK(shmx_read(c, W(2, RW_MAX), &most, 8) == 0);
		if (done == RW_WRITERS && most > 1)
			break;
	}
	return 0;
}

static int rw_writer(struct shmx_ctx *c, struct shmx_lock *l)
{
	uint64_t old, r1, r2;

	for (int i = 0; i < RW_WRITES; i++) {
		CHECK(shmx_lock_acquire(l, SHMX_LOCK_EXCLUSIVE, WAIT_MS,
					NULL) == 0);
		CHECK(shmx_fadd64(c, W(2, RW_WIN), 1, &old) == 0);
		CHECK(shmx_read(c, W(2, RW_RIN), &r1, 8) == 0);
		shmx__sleep_us(5000);
		CHECK(shmx_read(c, W(2, RW_RIN), &r2, 8) == 0);
		if (old || r1 || r2)
			CHECK(shmx_fadd64(c, W(2, RW_BAD), 1, NULL) == 0);
		CHECK(shmx_fadd64(c, W(2, RW_WIN), (uint64_t)-1, NULL) == 0);
		CHECK(shmx_lock_release(l) == 0);
		shmx__sleep_us(2000);
	}
	return shmx_fadd64(c, W(2, RW_WDONE), 1, NULL) ? 1 : 0;
}

/* Readers are 0 .. RW_READERS - 1, writers the others. */
static int rw_child(int me, void *arg)
{
	struct shmx_ctx *c;
	struct shmx_lock *l;
	int ret;

	CHECK(child_open(arg, "rw", me, &c) == 0);
	CHECK(shmx_lock_reserve(c, "rw", &l) == 0);
	ret = me < RW_READERS ? rw_reader(c, l) : rw_writer(c, l);
	shmx_close(c);
	return ret;
}

static void test_shared_and_exclusive(void **state)
{
	struct shmx_lock *l = make_lock("rw", LONG_LEASE_MS);

	assert_int_equal(
		run_clients(RW_READERS + RW_WRITERS, rw_child, &node, 120), 0);
	print_message("shared: at most %llu readers inside at once\n",
		      (unsigned long long)word(W(2, RW_MAX)));
	assert_int_equal(word(W(2, RW_BAD)), 0);
	assert_int_equal(word(W(2, RW_WDONE)), RW_WRITERS);
	assert_true(word(W(2, RW_MAX)) > 1);
	assert_int_equal(word(W(2, RW_RIN)), 0);
	assert_int_equal(word(W(2, RW_WIN)), 0);
	assert_int_equal(shmx_lock_unreserve(l), 0);
}

/* --- 3. fairness --------------------------------------------------------- */

#define FAIR_PROCS 4
#define FAIR_MS 2000
/* Region 3: word 0 counts contenders ready; 1 + i is contender i's count
 * of holds, 1 + FAIR_PROCS + i its longest wait in nanoseconds. */

static int fair_child(int me, void *arg)
{
	uint64_t start, t0, waited, longest = 0, count = 0;
	struct shmx_ctx *c;
	struct shmx_lock *l;

	CHECK(child_open(arg, "fair", me, &c) == 0);
	CHECK(shmx_lock_reserve(c, "fair", &l) == 0);
	CHECK(shmx_fadd64(c, W(3, 0), 1, NULL) == 0);
	CHECK(wait_word(c, W(3, 0), FAIR_PROCS, WAIT_MS) == 0);
	start = shmx__now_ms();
	while (shmx__now_ms() - start < FAIR_MS) {
		t0 = shmx__now_ns();
		CHECK(shmx_lock_acquire(l, SHMX_LOCK_EXCLUSIVE, WAIT_MS,
					NULL) == 0);
		waited = shmx__now_ns() - t0;
		if (waited > longest)
			longest = waited;
		count++;
		CHECK(shmx_lock_release(l) == 0);
	}
	CHECK(put(c, W(3, 1 + me), count) == 0);
	CHECK(put(c, W(3, 1 + FAIR_PROCS + me), longest) == 0);
	shmx_close(c);
	return 0;
}

static void test_fairness(void **state)
{
	struct shmx_lock *l = make_lock("fair", LONG_LEASE_MS);
	uint64_t n[FAIR_PROCS], total = 0, longest = 0;
	double sum2 = 0, jain;

	assert_int_equal(run_clients(FAIR_PROCS, fair_child, &node, 60), 0);
	for (int i = 0; i < FAIR_PROCS; i++) {
		uint64_t w = word(W(3, 1 + FAIR_PROCS + i));

		n[i] = word(W(3, 1 + i));
		total += n[i];
		sum2 += (double)n[i] * (double)n[i];
		longest = w > longest ? w : longest;
	}
	assert_true(total > 0);
	jain = (double)total * (double)total / (FAIR_PROCS * sum2);
	print_message("fairness: holds %llu %llu %llu %llu of %llu in %d ms, "
		      "Jain's index %.4f, longest wait %.2f ms\n",
		      (unsigned long long)n[0], (unsigned long long)n[1],
		      (unsigned long long)n[2], (unsigned long long)n[3],
		      (unsigned long long)total, FAIR_MS, jain,
		      (double)longest / 1e6);
	/*
	 * The bound: waiting is first come, first served, so contenders
	 * that loop take turns and each gets about 1/FAIR_PROCS of the
	 * holds.  Asserted: at least half that share.  It is generous
	 * because a contender that lines up again right after releasing
	 * goes to the back, start and end are not simultaneous, and the
	 * queue is rebuilt every 4096 acquisitions (shmext.h).
	 */
	for (int i = 0; i < FAIR_PROCS; i++)
		assert_true(n[i] * FAIR_PROCS * 2 >= total);
	assert_int_equal(shmx_lock_unreserve(l), 0);
}

/* --- 4. the holder killed ----------------------------------------------- */

#define KILL_LEASE_MS 500u
/* A waiter takes over after a lease without progress; the bound allows
 * another lease and a second for a loaded machine. */
#define TAKEOVER_MS(lease) (2 * (lease) + 1000)

/*
 * In the test: with the holder @index gone or stopped, acquire @l within
 * the takeover bound (and not before a lease has passed: until then the
 * holder may still hold it).  The new fence must be above the holder's.
 */
static uint64_t take_over(struct shmx_lock *l, int index, uint32_t lease_ms)
{
	uint64_t t0 = shmx__now_ms(), took, fence = 0;

	assert_int_equal(shmx_lock_acquire(l, SHMX_LOCK_EXCLUSIVE,
					   TAKEOVER_MS(lease_ms), &fence),
			 0);
	took = shmx__now_ms() - t0;
	print_message("taken over after %llu ms (lease %u ms)\n",
		      (unsigned long long)took, lease_ms);
	assert_true(took >= lease_ms);
	assert_true(took <= TAKEOVER_MS(lease_ms));
	assert_true(fence > word(W(index, H_FENCE)));
	assert_int_equal(shmx_lock_check(l, fence), 0);
	return fence;
}

static void test_killed_holder(void **state)
{
	struct shmx_lock *l = make_lock("holder-4", KILL_LEASE_MS);
	pid_t pid = kid_start(hold_child, 40);

	assert_int_equal(wait_word(ctx, W(40, H_HELD), 1, WAIT_MS), 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(kid_reap(pid), 128 + SIGKILL);
	take_over(l, 40, KILL_LEASE_MS);
	assert_int_equal(shmx_lock_release(l), 0);
	assert_int_equal(shmx_lock_unreserve(l), 0);
}

/* --- 5. the holder stopped past its lease ------------------------------- */

#define STOP_LEASE_MS 400u
/* Below shmnode's client timeout: the stopped member keeps its session
 * (SIGSTOP stops its heartbeat too). */
#define STOP_MS 1500

static void test_stopped_holder(void **state)
{
	struct shmx_lock *l = make_lock("holder-5", STOP_LEASE_MS);
	pid_t pid = kid_start(hold_child, 50);
	uint64_t stopped;

	assert_int_equal(wait_word(ctx, W(50, H_HELD), 1, WAIT_MS), 0);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	stopped = shmx__now_ms();
	take_over(l, 50, STOP_LEASE_MS);
	assert_int_equal(shmx_lock_release(l), 0);
	if (shmx__now_ms() - stopped < STOP_MS)
		shmx__sleep_us((STOP_MS - (shmx__now_ms() - stopped)) * 1000);
	assert_int_equal(kill(pid, SIGCONT), 0);
	/* The holder wakes up holding a stale fence. */
	assert_int_equal(put(ctx, W(50, H_GO), 1), 0);
	assert_int_equal(wait_word(ctx, W(50, H_DONE), 1, WAIT_MS), 0);
	assert_int_equal(result(50, H_CHECK), -ESTALE);
	assert_int_equal(result(50, H_RELEASE), -ESTALE);
	assert_int_equal(kid_reap(pid), 0);
	assert_int_equal(shmx_lock_unreserve(l), 0);
}

/* --- 6. misuse ----------------------------------------------------------- */

#define MISUSE_LEASE_MS 4000u
#define GIVE_UP_MS 300

/* Arguments refused before anything is sent. */
static void misuse_arguments(struct shmx_lock *l)
{
	static const int bad_modes[] = { -1, 0, 3, 4 };
	struct shmx_lock_attr attr = { .comp_mask = 1u << 1 };
	char name[SHMX_NAME_MAX + 1];
	struct shmx_lock_info info;
	struct shmx_lock *x = NULL;
	uint64_t f;

	assert_int_equal(shmx_lock_acquire(NULL, SHMX_LOCK_SHARED, 0, &f),
			 -EINVAL);
	assert_int_equal(shmx_lock_try(NULL, SHMX_LOCK_SHARED, &f), -EINVAL);
	assert_int_equal(shmx_lock_release(NULL), -EINVAL);
	assert_int_equal(shmx_lock_check(NULL, 1), -EINVAL);
	assert_int_equal(shmx_lock_unreserve(NULL), -EINVAL);
	assert_int_equal(shmx_lock_id(NULL), 0);
	assert_int_equal(shmx_lock_reserve(NULL, "m", &x), -EINVAL);
	assert_int_equal(shmx_lock_reserve(ctx, "m", NULL), -EINVAL);
	assert_int_equal(shmx_lock_open(NULL, shmx_lock_id(l), &x), -EINVAL);
	assert_int_equal(shmx_lock_open(ctx, 0, &x), -EINVAL);
	assert_int_equal(shmx_lock_next(NULL, 0, &info), -EINVAL);
	assert_int_equal(shmx_lock_next(ctx, 0, NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		assert_int_equal(shmx_lock_acquire(l, bad_modes[i], 0, &f),
				 -EINVAL);
		assert_int_equal(shmx_lock_try(l, bad_modes[i], &f), -EINVAL);
	}
	/* Names: empty, too long, not printable; the longest is fine. */
	assert_int_equal(shmx_lock_reserve(ctx, "", &x), -EINVAL);
	memset(name, 'n', sizeof(name));
	name[SHMX_NAME_MAX] = 0;
	assert_int_equal(shmx_lock_reserve(ctx, name, &x), -EINVAL);
	assert_int_equal(shmx_lock_reserve(ctx, "bad\nname", &x), -EINVAL);
	name[SHMX_NAME_MAX - 1] = 0;
	assert_int_equal(shmx_lock_reserve(ctx, name, &x), 0);
	assert_int_equal(shmx_lock_unreserve(x), 0);
	/* Attributes: an unknown bit, leases out of range. */
	assert_int_equal(shmx_lock_reserve_attr(ctx, "m-attr", &attr, &x),
			 -EINVAL);
	attr.comp_mask = SHMX_LOCK_ATTR_LEASE;
	attr.lease_ms = 0;
	assert_int_equal(shmx_lock_reserve_attr(ctx, "m-attr", &attr, &x),
			 -EINVAL);
	attr.lease_ms = 3600001;
	assert_int_equal(shmx_lock_reserve_attr(ctx, "m-attr", &attr, &x),
			 -EINVAL);
	/* None of them made a lock. */
	for (uint64_t from = 0; !shmx_lock_next(ctx, from, &info);
	     from = info.id + 1)
		assert_string_not_equal(info.name, "m-attr");
}

/* One process, two handles of one lock: each its own reservation. */
static void misuse_handles(struct shmx_lock *l)
{
	struct shmx_lock *m, *x;
	uint64_t f, g, gone;

	assert_int_equal(shmx_lock_reserve(ctx, "holder-6", &m), 0);
	assert_int_equal(shmx_lock_id(m), shmx_lock_id(l));
	assert_int_equal(shmx_lock_release(l), -EPERM);
	assert_int_equal(shmx_lock_check(l, 1), -EPERM);

	assert_int_equal(shmx_lock_acquire(l, SHMX_LOCK_EXCLUSIVE, WAIT_MS, &f),
			 0);
	assert_int_equal(shmx_lock_acquire(l, SHMX_LOCK_EXCLUSIVE, 0, &g),
			 -EDEADLK);
	assert_int_equal(shmx_lock_acquire(l, SHMX_LOCK_SHARED, 0, &g),
			 -EDEADLK);
	assert_int_equal(shmx_lock_try(l, SHMX_LOCK_SHARED, &g), -EDEADLK);
	assert_int_equal(shmx_lock_check(l, f), 0);
	assert_int_equal(shmx_lock_check(l, f + 1), -ESTALE);
	assert_int_equal(shmx_lock_unreserve(l), -EBUSY);
	assert_int_equal(shmx_lock_try(m, SHMX_LOCK_EXCLUSIVE, &g), -EBUSY);
	assert_int_equal(shmx_lock_try(m, SHMX_LOCK_SHARED, &g), -EBUSY);
	assert_int_equal(shmx_lock_unreserve(m), -EBUSY); /* held by l */
	/* The refused handles still work. */
	assert_int_equal(shmx_lock_release(l), 0);
	assert_int_equal(shmx_lock_release(l), -EPERM);
	assert_int_equal(shmx_lock_try(m, SHMX_LOCK_EXCLUSIVE, &g), 0);
	assert_true(g > f);
	assert_int_equal(shmx_lock_release(m), 0);
	/* Shared holds go together. */
	assert_int_equal(shmx_lock_try(l, SHMX_LOCK_SHARED, &f), 0);
	assert_int_equal(shmx_lock_try(m, SHMX_LOCK_SHARED, &g), 0);
	assert_true(g > f);
	assert_int_equal(shmx_lock_release(l), 0);
	assert_int_equal(shmx_lock_release(m), 0);
	assert_int_equal(shmx_lock_unreserve(m), 0);

	/* An id nobody reserves any more, and one never given. */
	assert_int_equal(shmx_lock_reserve(ctx, NULL, &x), 0);
	gone = shmx_lock_id(x);
	assert_int_equal(shmx_lock_unreserve(x), 0);
	assert_int_equal(shmx_lock_open(ctx, gone, &x), -ENOENT);
	assert_int_equal(shmx_lock_open(ctx, 1ull << 40, &x), -ENOENT);
}

static void test_misuse(void **state)
{
	struct shmx_lock *l = make_lock("holder-6", MISUSE_LEASE_MS);
	uint64_t t0, took, f;
	pid_t pid;

	misuse_arguments(l);
	misuse_handles(l);

	/* Waiting behind a holder elsewhere gives up in time... */
	pid = kid_start(hold_child, 60);
	assert_int_equal(wait_word(ctx, W(60, H_HELD), 1, WAIT_MS), 0);
	t0 = shmx__now_ms();
	assert_int_equal(
		shmx_lock_acquire(l, SHMX_LOCK_EXCLUSIVE, GIVE_UP_MS, &f),
		-ETIMEDOUT);
	took = shmx__now_ms() - t0;
	assert_true(took >= GIVE_UP_MS && took < GIVE_UP_MS + 2000);
	assert_int_equal(put(ctx, W(60, H_GO), 1), 0);
	assert_int_equal(wait_word(ctx, W(60, H_DONE), 1, WAIT_MS), 0);
	assert_int_equal(result(60, H_CHECK), 0);
	assert_int_equal(result(60, H_RELEASE), 0);
	assert_int_equal(kid_reap(pid), 0);
	/*
	 * ...and the ticket given up does not stop the lock: the context's
	 * heartbeat thread passes it on, so the next acquire is served at
	 * once, not after a takeover (a lease).
	 */
	t0 = shmx__now_ms();
	assert_int_equal(
		shmx_lock_acquire(l, SHMX_LOCK_EXCLUSIVE, MISUSE_LEASE_MS, &f),
		0);
	took = shmx__now_ms() - t0;
	print_message("acquired %llu ms after a waiter gave up\n",
		      (unsigned long long)took);
	assert_true(took < MISUSE_LEASE_MS / 4);
	assert_true(f > word(W(60, H_FENCE)));
	assert_int_equal(shmx_lock_release(l), 0);
	assert_int_equal(shmx_lock_unreserve(l), 0);
}

/* --- 7. named and anonymous locks, the listing -------------------------- */

/* Opens the lock whose id is word 0 of region @index, reports the handle's
 * id in word 1 and raises word 2; on word 3 unreserves, reports it in
 * word 4 and raises word 5. */
static int open_child(int index, void *arg)
{
	struct shmx_ctx *c;
	struct shmx_lock *l;
	uint64_t id;

	CHECK(child_open(arg, "opener", index, &c) == 0);
	CHECK(shmx_read(c, W(index, 0), &id, 8) == 0);
	CHECK(shmx_lock_open(c, id, &l) == 0);
	CHECK(put(c, W(index, 1), shmx_lock_id(l)) == 0);
	CHECK(put(c, W(index, 2), 1) == 0);
	CHECK(wait_word(c, W(index, 3), 1, WAIT_MS) == 0);
	CHECK(put(c, W(index, 4), (uint64_t)(int64_t)shmx_lock_unreserve(l)) ==
	      0);
	CHECK(put(c, W(index, 5), 1) == 0);
	shmx_close(c);
	return 0;
}

static void test_anonymous(void **state)
{
	struct shmx_lock *a, *b;
	struct shmx_lock_info info;
	pid_t pid;

	assert_int_equal(shmx_lock_reserve(ctx, NULL, &a), 0);
	assert_int_equal(shmx_lock_reserve(ctx, NULL, &b), 0);
	assert_true(shmx_lock_id(a) != 0);
	assert_true(shmx_lock_id(b) != 0);
	assert_true(shmx_lock_id(a) != shmx_lock_id(b));
	assert_int_equal(lock_info(shmx_lock_id(a), &info), 0);
	assert_string_equal(info.name, "");
	assert_int_equal(info.reservations, 1);
	assert_int_equal(info.lease_ms, SHMX_LOCK_LEASE_MS);

	/* Another process reaches it by its id. */
	assert_int_equal(put(ctx, W(72, 0), shmx_lock_id(a)), 0);
	pid = kid_start(open_child, 72);
	assert_int_equal(wait_word(ctx, W(72, 2), 1, WAIT_MS), 0);
	assert_int_equal(word(W(72, 1)), shmx_lock_id(a));
	assert_int_equal(lock_info(shmx_lock_id(a), &info), 0);
	assert_int_equal(info.reservations, 2);
	assert_int_equal(put(ctx, W(72, 3), 1), 0);
	assert_int_equal(wait_word(ctx, W(72, 5), 1, WAIT_MS), 0);
	assert_int_equal(result(72, 4), 0);
	assert_int_equal(kid_reap(pid), 0);
	assert_int_equal(lock_info(shmx_lock_id(a), &info), 0);
	assert_int_equal(info.reservations, 1);

	assert_int_equal(shmx_lock_unreserve(a), 0);
	assert_int_equal(shmx_lock_unreserve(b), 0);
}

static void test_named_and_listing(void **state)
{
	struct shmx_lock_attr attr = { .comp_mask = SHMX_LOCK_ATTR_LEASE,
				       .lease_ms = 1234 };
	struct shmx_lock *l = make_lock("holder-7", LONG_LEASE_MS), *again;
	struct shmx_lock_info info;
	uint64_t id = shmx_lock_id(l), fa, fb;
	pid_t a, b;

	/* The same name, the same lock; the lease is its creator's. */
	assert_int_equal(shmx_lock_reserve_attr(ctx, "holder-7", &attr, &again),
			 0);
	assert_int_equal(shmx_lock_id(again), id);
	assert_int_equal(shmx_lock_unreserve(again), 0);

	/* Another process takes it: the listing names it. */
	a = kid_start(hold_child, 70);
	assert_int_equal(wait_word(ctx, W(70, H_HELD), 1, WAIT_MS), 0);
	assert_int_equal(word(W(70, H_ID)), id);
	fa = word(W(70, H_FENCE));
	/* This is the new lock's first hold (epoch 0, ticket 0): it is
	 * named like any other. */
	assert_int_equal(wait_listing(id, 1, 0, word(W(70, H_SELF)), &info), 0);
	assert_string_equal(info.name, "holder-7");
	assert_int_equal(info.lease_ms, LONG_LEASE_MS);
	assert_int_equal(info.reservations, 2);
	assert_int_equal(info.mode, SHMX_LOCK_EXCLUSIVE);
	assert_int_equal(info.holders[0].fence, fa);
	assert_int_equal(info.fence, fa);
	/* The holder's clock is this host's (a forked client). */
	assert_true(info.holders[0].since_ns <= shmx__wall_ns());
	assert_true(info.holders[0].since_ns + 60000000000ull >=
		    shmx__wall_ns());

	/* A second one waits behind it. */
	b = kid_start(hold_child, 71);
	assert_int_equal(wait_word(ctx, W(71, H_WAITING), 1, WAIT_MS), 0);
	assert_int_equal(wait_listing(id, 1, 1, word(W(70, H_SELF)), &info), 0);
	assert_int_equal(info.reservations, 3);
	assert_int_equal(info.mode, SHMX_LOCK_EXCLUSIVE);
	assert_int_equal(info.holders[0].fence, fa);

	/* The first lets go: the second holds it. */
	assert_int_equal(put(ctx, W(70, H_GO), 1), 0);
	assert_int_equal(wait_word(ctx, W(71, H_HELD), 1, WAIT_MS), 0);
	assert_int_equal(result(70, H_CHECK), 0);
	assert_int_equal(result(70, H_RELEASE), 0);
	fb = word(W(71, H_FENCE));
	assert_true(fb > fa);
	assert_int_equal(wait_listing(id, 1, 0, word(W(71, H_SELF)), &info), 0);
	assert_int_equal(info.holders[0].fence, fb);
	assert_int_equal(info.fence, fb);

	/* Nobody holds it. */
	assert_int_equal(put(ctx, W(71, H_GO), 1), 0);
	assert_int_equal(wait_word(ctx, W(71, H_DONE), 1, WAIT_MS), 0);
	assert_int_equal(result(71, H_RELEASE), 0);
	assert_int_equal(wait_listing(id, 0, 0, 0, &info), 0);
	assert_int_equal(info.mode, 0);
	assert_int_equal(kid_reap(a), 0);
	assert_int_equal(kid_reap(b), 0);
	assert_int_equal(shmx_lock_unreserve(l), 0);
}

/* --- 8. a member that leaves or dies gives its reservations up --------- */

/*
 * Reserves "leave" twice (index 81: once) and (index 80) an anonymous lock,
 * reports their ids (words 1, 2) and raises word 0; leaves (shmx_close)
 * on word 3.
 */
static int leave_child(int index, void *arg)
{
	struct shmx_ctx *c;
	struct shmx_lock *l = NULL;

	CHECK(child_open(arg, "leaver", index, &c) == 0);
	for (int i = 0; i < (index == 81 ? 1 : 2); i++)
		CHECK(shmx_lock_reserve(c, "leave", &l) == 0);
	CHECK(put(c, W(index, 1), shmx_lock_id(l)) == 0);
	if (index == 80) {
		CHECK(shmx_lock_reserve(c, NULL, &l) == 0);
		CHECK(put(c, W(index, 2), shmx_lock_id(l)) == 0);
	}
	CHECK(put(c, W(index, 0), 1) == 0);
	CHECK(wait_word(c, W(index, 3), 1, WAIT_MS) == 0);
	return shmx_close(c) ? 1 : 0;
}

/* Poll until the listing's lock @id has @n reservations (0: is gone),
 * up to @ms.  0 or -ETIMEDOUT. */
static int wait_reservations(uint64_t id, uint32_t n, int ms)
{
	uint64_t end = shmx__now_ms() + (uint64_t)ms;
	struct shmx_lock_info info;
	int ret;

	for (;;) {
		ret = lock_info(id, &info);
		if (n ? !ret && info.reservations == n : ret == -ENOENT)
			return 0;
		if (shmx__now_ms() >= end) {
			if (!ret)
				print_info(&info);
			return -ETIMEDOUT;
		}
		shmx__sleep_us(10000);
	}
}

/* A member killed is dropped after shmnode's client timeout (3 s; 10 s
 * for remote nodes, see harness.c); the bound leaves room. */
#define DEAD_MS 20000

static void test_members_leave(void **state)
{
	pid_t one = kid_start(leave_child, 80),
	      two = kid_start(leave_child, 81);
	uint64_t id, anon;

	assert_int_equal(wait_word(ctx, W(80, 0), 1, WAIT_MS), 0);
	assert_int_equal(wait_word(ctx, W(81, 0), 1, WAIT_MS), 0);
	id = word(W(80, 1));
	anon = word(W(80, 2));
	assert_int_equal(word(W(81, 1)), id);
	assert_int_equal(wait_reservations(id, 3, WAIT_MS), 0);
	assert_int_equal(wait_reservations(anon, 1, WAIT_MS), 0);

	/* The first leaves: its two reservations go, its anonymous lock. */
	assert_int_equal(put(ctx, W(80, 3), 1), 0);
	assert_int_equal(kid_reap(one), 0);
	assert_int_equal(wait_reservations(id, 1, WAIT_MS), 0);
	assert_int_equal(wait_reservations(anon, 0, WAIT_MS), 0);
	/* The last leaves: the lock is gone. */
	assert_int_equal(put(ctx, W(81, 3), 1), 0);
	assert_int_equal(kid_reap(two), 0);
	assert_int_equal(wait_reservations(id, 0, WAIT_MS), 0);

	/* One killed: gone when the node drops the member. */
	one = kid_start(leave_child, 82);
	assert_int_equal(wait_word(ctx, W(82, 0), 1, WAIT_MS), 0);
	id = word(W(82, 1));
	assert_int_equal(wait_reservations(id, 2, WAIT_MS), 0);
	assert_int_equal(kill(one, SIGKILL), 0);
	assert_int_equal(kid_reap(one), 128 + SIGKILL);
	assert_int_equal(wait_reservations(id, 0, DEAD_MS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_mutual_exclusion, kids_cleanup),
		cmocka_unit_test_teardown(test_shared_and_exclusive,
					  kids_cleanup),
		cmocka_unit_test_teardown(test_fairness, kids_cleanup),
		cmocka_unit_test_teardown(test_killed_holder, kids_cleanup),
		cmocka_unit_test_teardown(test_stopped_holder, kids_cleanup),
		cmocka_unit_test_teardown(test_misuse, kids_cleanup),
		cmocka_unit_test_teardown(test_anonymous, kids_cleanup),
		cmocka_unit_test_teardown(test_named_and_listing, kids_cleanup),
		cmocka_unit_test_teardown(test_members_leave, kids_cleanup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
