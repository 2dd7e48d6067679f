/* SPDX-License-Identifier: MIT */
/*
 * locks.c - global locks (docs/locks.md): reservations are RPCs to
 * shmnode; acquire, try, release and check touch only the lock's slot in
 * the node's lock table, with the fabric's atomics and reads (the word
 * layout and its pure rules are in proto/lockword.h).
 *
 * Acquire takes a ticket with one fetch-and-add and, when others are
 * before it, reads the word until its turn comes.  Release is one
 * compare-and-swap that checks the hold is still this epoch's.  A waiter
 * that sees no progress for a lease starts a new epoch (takeover), which
 * voids every ticket and hold of the old one: their owners take a ticket
 * again, or learn from release that the lock was lost.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "proto/lockword.h"
#include "util/clock.h"
#include "util/errstr.h"
#include "util/log.h"
#include "util/parse.h"

#define LOCK_MAGIC 0x4b434f4cu /* "LOCK" */
/* A waiter's pause between looks: at most PAUSE_MAX_NS, and a sleep only
 * from PAUSE_SLEEP_NS on.  A sleep overshoots by the timer slack (50 µs
 * by default on Linux): a shorter pause that sleeps would miss its turn
 * (2 contenders on loopback: 7k acquisitions/s sleeping, 12k yielding). */
#define PAUSE_MAX_NS 1000000ull
#define PAUSE_SLEEP_NS 100000ull

struct shmx_lock {
	uint32_t magic;
	struct shmx_ctx *ctx;
	struct shmx_lock *next, *prev; /* ctx->locks */
	uint64_t id;
	uint64_t raddr; /* the slot, as the transport reaches it */
	uint64_t key;
	uint64_t lease_ns;
	uint64_t word;	  /* the word as last seen */
	int word_seen;	  /* word is valid */
	uint64_t epoch;	  /* the full epoch of its tag, if known */
	int epoch_known;  /* epoch is valid */
	uint64_t hold_ns; /* how long one hand-over takes, roughly */
	/* The hold, while held != 0 (its mode). */
	int held;
	struct shmx_lock_ticket t;
	uint64_t fence;
	uint64_t lease_end; /* monotonic ns */
	/* The holder record, written by the heartbeat thread once the hold
	 * has lasted SHMX_LOCK_RECORD_AFTER_NS (shmx__lock_records_run);
	 * guarded by ctx->hb_lock, as is the held list. */
	struct shmx_lock *hnext, *hprev; /* ctx->held */
	uint64_t held_at;		 /* monotonic ns of the grant */
	uint8_t rec[SHMX_LOCK_REC_SIZE];
	int rec_written;
	/* A release whose swaps are in flight (release_done), guarded by
	 * ctx->lock: the ticket, what a swap adds, and the round's state. */
	int releasing;
	struct shmx_lock_ticket rel_t;
	uint64_t rel_inc;
	unsigned rel_inflight; /* swaps of the round in flight */
	int rel_hit;	       /* one of them swapped */
	int rel_err;	       /* one failed with its connection */
	uint64_t rel_last;     /* the word the latest one saw */
};

/* A ticket given up by a waiter that timed out: the heartbeat thread
 * passes the lock on when its turn comes (shmx__lock_orphans_run). */
struct shmx__lock_orphan {
	struct shmx__lock_orphan *next;
	uint64_t raddr, key;
	struct shmx_lock_ticket t;
	uint64_t give_up; /* monotonic ns: forget it then */
};

static int lock_ok(const struct shmx_lock *l)
{
	return l && l->magic == LOCK_MAGIC;
}

static uint64_t word_addr(const struct shmx_lock *l)
{
	return l->raddr + SHMX_LOCK_WORD_OFF;
}

static uint64_t epoch_addr(const struct shmx_lock *l)
{
	return l->raddr + SHMX_LOCK_EPOCH_OFF;
}

/* How long a waiter waits without progress before a takeover: the lease,
 * plus room for clocks that run a little apart. */
static uint64_t takeover_after(const struct shmx_lock *l)
{
	return l->lease_ns + l->lease_ns / 64 + 1000000ull;
}

/* A connection that broke under an operation is made again by the data
 * layer before it returns; a read is simply made once more. */
static int broke(int ret)
{
	return ret == -ECONNRESET || ret == -EACCES;
}

static int read_word(struct shmx_lock *l, uint64_t *w)
{
	int ret = shmx__raw_read(l->ctx, word_addr(l), l->key, w, 8);

	if (broke(ret))
		ret = shmx__raw_read(l->ctx, word_addr(l), l->key, w, 8);
	if (!ret) {
		l->word = *w;
		l->word_seen = 1;
	}
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Reservations                                                           */
/* ---------------------------------------------------------------------- */

static int reserve(struct shmx_ctx *ctx, uint64_t id, const char *name,
		   const struct shmx_lock_attr *attr, struct shmx_lock **lock)
{
	struct shmx_msg req, rep;
	struct shmx_lock *l;
	int ret;

	if (!ctx || !lock || (name && !shmx__name_valid(name)))
		return -EINVAL;
	if (attr &&
	    ((attr->comp_mask & ~SHMX_LOCK_ATTR_LEASE) ||
	     ((attr->comp_mask & SHMX_LOCK_ATTR_LEASE) &&
	      (!attr->lease_ms || attr->lease_ms > SHMX_LOCK_LEASE_MAX_MS))))
		return -EINVAL;
	/* Where the table is, so that a handle can follow it when shmnode
	 * restarts (shmx__locks_rebase). */
	ret = shmx__lock_table_learn(ctx);
	if (ret)
		return ret;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	shmx__msg_init(&req, SHMX_OP_LOCK_RESERVE, 0, 0, 0);
	req.u.lock_reserve.id = id;
	if (attr && (attr->comp_mask & SHMX_LOCK_ATTR_LEASE))
		req.u.lock_reserve.lease_ms = attr->lease_ms;
	if (name)
		shmx__strlcpy(req.u.lock_reserve.name, name,
			      sizeof(req.u.lock_reserve.name));
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret) {
		free(l);
		return ret;
	}
	l->magic = LOCK_MAGIC;
	l->ctx = ctx;
	l->id = rep.u.lock.id;
	l->raddr = rep.u.lock.raddr;
	l->key = rep.u.lock.key;
	l->lease_ns = (uint64_t)rep.u.lock.lease_ms * 1000000ull;
	l->hold_ns = 20000;
	pthread_mutex_lock(&ctx->lock);
	l->next = ctx->locks;
	if (ctx->locks)
		ctx->locks->prev = l;
	ctx->locks = l;
	__atomic_fetch_add(&ctx->nr_locks, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ctx->lock);
	*lock = l;
	return 0;
}

/* Unlink and free a handle. */
static void lock_free(struct shmx_lock *l)
{
	struct shmx_ctx *ctx = l->ctx;

	pthread_mutex_lock(&ctx->lock);
	if (l->prev)
		l->prev->next = l->next;
	else
		ctx->locks = l->next;
	if (l->next)
		l->next->prev = l->prev;
	__atomic_fetch_sub(&ctx->nr_locks, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ctx->lock);
	l->magic = 0;
	free(l);
}

SHMX_EXPORT int shmx_lock_reserve(struct shmx_ctx *ctx, const char *name,
				  struct shmx_lock **lock)
{
	return reserve(ctx, 0, name, NULL, lock);
}

SHMX_EXPORT int shmx_lock_reserve_attr(struct shmx_ctx *ctx, const char *name,
				       const struct shmx_lock_attr *attr,
				       struct shmx_lock **lock)
{
	return reserve(ctx, 0, name, attr, lock);
}

SHMX_EXPORT int shmx_lock_open(struct shmx_ctx *ctx, uint64_t id,
			       struct shmx_lock **lock)
{
	if (!id)
		return -EINVAL;
	return reserve(ctx, id, NULL, NULL, lock);
}

SHMX_EXPORT int shmx_lock_unreserve(struct shmx_lock *lock)
{
	struct shmx_msg req, rep;
	int ret;

	if (!lock_ok(lock))
		return -EINVAL;
	if (lock->held)
		return -EBUSY;
	/* Every release of this context is over first: the node judges
	 * by the word. */
	ret = shmx__lock_settle(lock->ctx);
	if (ret)
		return ret;
	shmx__msg_init(&req, SHMX_OP_LOCK_UNRESERVE, 0, 0, 0);
	req.u.obj.id = lock->id;
	ret = shmx__rpc(lock->ctx, &req, &rep, lock->ctx->timeout_ms);
	if (ret == -EBUSY || ret == -ETIMEDOUT)
		return ret;
	lock_free(lock);
	return ret;
}

SHMX_EXPORT uint64_t shmx_lock_id(const struct shmx_lock *lock)
{
	return lock_ok(lock) ? lock->id : 0;
}

/* ---------------------------------------------------------------------- */
/* Epochs                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Start the epoch after the one of word @w, if the word is still @w: bump
 * the epoch word first (unless a maker that stopped half way did), then
 * swap the word for the new epoch's.  Whether it worked or someone else
 * was faster, the caller reads the word again.  0 or -errno.
 */
static int new_epoch(struct shmx_lock *l, uint64_t w)
{
	unsigned tag = shmx__lw_split(w).tag;
	uint64_t ew, to, old;
	int ret, bump;

	ret = shmx__raw_read(l->ctx, epoch_addr(l), l->key, &ew, 8);
	if (ret)
		return ret;
	bump = shmx__lock_epoch_bump(tag, ew, &to);
	if (bump < 0)
		return 0;
	if (bump) {
		ret = shmx__raw_cas(l->ctx, epoch_addr(l), l->key, ew, to,
				    &old);
		if (ret)
			return ret;
		/* Someone else bumped it: go on only if to the same. */
		if (old != ew && shmx__lock_epoch_bump(tag, old, &to) != 0)
			return 0;
	}
	ret = shmx__raw_cas(l->ctx, word_addr(l), l->key, w,
			    shmx__lock_next_epoch_word(w), &old);
	if (ret)
		return ret;
	if (old == w) {
		l->word = shmx__lock_next_epoch_word(w);
		l->epoch = to;
		l->epoch_known = 1;
	}
	return 0;
}

/* The full epoch of tag @tag into *@e: from the cache, else the epoch
 * word.  0, 1 (the epoch has moved on: the tag is gone), or -errno. */
static int epoch_get(struct shmx_lock *l, unsigned tag, uint64_t *e)
{
	uint64_t ew;
	int ret;

	if (l->epoch_known && (l->epoch & 0xffu) == tag) {
		*e = l->epoch;
		return 0;
	}
	ret = shmx__raw_read(l->ctx, epoch_addr(l), l->key, &ew, 8);
	if (ret)
		return ret;
	if (shmx__lock_epoch_of(tag, ew, e))
		return 1;
	l->epoch = *e;
	l->epoch_known = 1;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Waiting                                                                */
/* ---------------------------------------------------------------------- */

/*
 * Pause before reading the word again.  Those further back sleep for half
 * the time the hand-overs before them should take; the next in line
 * sleeps until half a hand-over has passed since the last one (the
 * holder is unlikely to be done sooner), then looks at once, yielding
 * the CPU in between (a short pause yields, see PAUSE_SLEEP_NS).  Only
 * half: a waiter that sleeps past its turn makes every later hand-over
 * look slower, and the line would slow itself down.  @since: nanoseconds
 * since the word last moved.
 */
static void pause_for(struct shmx_lock *l, unsigned ahead, uint64_t since)
{
	uint64_t ns =
		ahead > 1
			? (ahead - 1) * l->hold_ns / 2
			: (since < l->hold_ns / 2 ? l->hold_ns / 2 - since : 0);

	if (ns > PAUSE_MAX_NS)
		ns = PAUSE_MAX_NS;
	if (ns >= PAUSE_SLEEP_NS)
		shmx__sleep_us(ns / 1000);
	else
		sched_yield();
}

/*
 * A waiter looks at word @w at @now.  Returns 1 when its progress part
 * moved since *@progress (*@elapsed: the time since it last moved), 0
 * when it did not, starting a new epoch (a takeover) once nothing moved
 * for a lease, or -errno.
 */
static int watch(struct shmx_lock *l, uint64_t w, uint64_t *progress,
		 uint64_t *seen, uint64_t now, uint64_t *elapsed)
{
	int ret = 0;

	if (shmx__lock_progress(w) != *progress) {
		*progress = shmx__lock_progress(w);
		*elapsed = now - *seen;
		*seen = now;
		return 1;
	}
	if (now - *seen >= takeover_after(l)) {
		/* Whoever is served has had its lease. */
		ret = new_epoch(l, w);
		*seen = now;
	}
	return ret;
}

/*
 * Wait until ticket @t's turn, given @w, the word as the fetch-and-add
 * issued at @issued left it.  Returns 0 with *@lease_start (monotonic:
 * the hold began after it), -EAGAIN (the ticket is void: take another),
 * -ETIMEDOUT (@deadline passed; the ticket is still in line), or -errno.
 */
static int wait_turn(struct shmx_lock *l, const struct shmx_lock_ticket *t,
		     uint64_t w, uint64_t issued, uint64_t deadline,
		     uint64_t *lease_start)
{
	uint64_t progress = shmx__lock_progress(w), seen = shmx__now_ns();
	uint64_t waiting_since = issued; /* the last look that said wait */
	uint64_t elapsed = 0;
	unsigned ahead = shmx__lock_ahead(t, w);
	int ret;

	for (;;) {
		uint64_t now;

		switch (shmx__lock_ticket_state(t, w)) {
		case SHMX_LT_GRANTED:
			*lease_start = waiting_since;
			l->word = w;
			return 0;
		case SHMX_LT_VOID:
			return -EAGAIN;
		}
		now = shmx__now_ns();
		ret = watch(l, w, &progress, &seen, now, &elapsed);
		if (ret < 0)
			return ret;
		if (ret) {
			unsigned now_ahead = shmx__lock_ahead(t, w);
			unsigned moved =
				ahead > now_ahead ? ahead - now_ahead : 1;
			/* The hand-over time paces those far back; it falls
			 * at once and rises slowly, as what a waiter sees
			 * includes its own pauses. */
			uint64_t sample = elapsed / moved;

			l->hold_ns = sample < l->hold_ns
					     ? sample
					     : (7 * l->hold_ns + sample) / 8;
			ahead = now_ahead;
		}
		if (now >= deadline)
			return -ETIMEDOUT;
		pause_for(l, ahead, shmx__now_ns() - seen);
		waiting_since = shmx__now_ns();
		ret = read_word(l, &w);
		if (ret)
			return ret;
	}
}

/*
 * A ticket past its epoch's valid ones: wait for the next epoch, starting
 * it when every valid ticket is done or when nothing moved for a lease.
 * 0 (take a ticket again), -ETIMEDOUT or -errno.
 */
static int wait_epoch(struct shmx_lock *l, unsigned tag, uint64_t deadline)
{
	uint64_t w = l->word, progress = shmx__lock_progress(w);
	uint64_t seen = shmx__now_ns(), elapsed;
	int ret;

	for (;;) {
		uint64_t now = shmx__now_ns();

		if (shmx__lw_split(w).tag != tag)
			return 0;
		ret = shmx__lock_exhausted(w)
			      ? new_epoch(l, w)
			      : watch(l, w, &progress, &seen, now, &elapsed);
		if (ret < 0)
			return ret;
		if (now >= deadline)
			return -ETIMEDOUT;
		pause_for(l, shmx__lock_outstanding(w), shmx__now_ns() - seen);
		ret = read_word(l, &w);
		if (ret)
			return ret;
	}
}

/* Hand a ticket that is still in line to the heartbeat thread. */
static void orphan(struct shmx_lock *l, const struct shmx_lock_ticket *t)
{
	struct shmx_ctx *ctx = l->ctx;
	struct shmx__lock_orphan *o = calloc(1, sizeof(*o));

	/* Without memory the ticket stays in line until a waiter's
	 * takeover, a lease after its turn comes. */
	if (!o)
		return;
	o->raddr = l->raddr;
	o->key = l->key;
	o->t = *t;
	o->give_up = shmx__now_ns() + 4 * takeover_after(l);
	pthread_mutex_lock(&ctx->hb_lock);
	o->next = ctx->lock_orphans;
	ctx->lock_orphans = o;
	pthread_cond_signal(&ctx->hb_cond);
	pthread_mutex_unlock(&ctx->hb_lock);
}

/* ---------------------------------------------------------------------- */
/* Holds                                                                  */
/* ---------------------------------------------------------------------- */

static uint64_t rec_addr(const struct shmx_lock *l)
{
	return l->raddr + SHMX_LOCK_REC_OFF +
	       shmx__lock_rec_index(&l->t) * SHMX_LOCK_REC_SIZE;
}

/*
 * Ticket @t was granted: learn its fence and make the hold this handle's.
 * 0, 1 (its epoch is already over: the hold is lost before it began), or
 * -errno.
 */
static int hold(struct shmx_lock *l, const struct shmx_lock_ticket *t,
		uint64_t lease_start, uint64_t *fence)
{
	struct shmx_lock_rec r;
	uint64_t e;
	int ret = epoch_get(l, t->tag, &e);

	if (ret)
		return ret;
	l->t = *t;
	l->held = t->mode;
	l->fence = shmx__lock_fence(e, t);
	l->lease_end = lease_start + l->lease_ns;
	/* Who holds it, for listings: written only if the hold lasts (a
	 * write on every acquisition would cost as much as an atomic). */
	r.fence = l->fence;
	r.since_ns = shmx__wall_ns();
	r.node = l->ctx->id;
	r.a = (uint16_t)t->a;
	r.mode = (uint8_t)t->mode;
	pthread_mutex_lock(&l->ctx->hb_lock);
	shmx__lock_rec_put(l->rec, &r);
	l->held_at = shmx__now_ns();
	l->rec_written = 0;
	l->hprev = NULL;
	l->hnext = l->ctx->held;
	if (l->hnext)
		l->hnext->hprev = l;
	l->ctx->held = l;
	pthread_mutex_unlock(&l->ctx->hb_lock);
	if (fence)
		*fence = l->fence;
	return 0;
}

/* The hold ends: off the held list.  1 if its record was written. */
static int unhold(struct shmx_lock *l)
{
	struct shmx_ctx *ctx = l->ctx;
	int written;

	pthread_mutex_lock(&ctx->hb_lock);
	if (l->hprev)
		l->hprev->hnext = l->hnext;
	else
		ctx->held = l->hnext;
	if (l->hnext)
		l->hnext->hprev = l->hprev;
	written = l->rec_written;
	pthread_mutex_unlock(&ctx->hb_lock);
	return written;
}

int shmx__lock_records_run(struct shmx_ctx *ctx)
{
	uint64_t now = shmx__now_ns();
	int held = 0;

	/* Under hb_lock: a release takes the hold off the list first, so
	 * a record is never posted after the release's swap. */
	pthread_mutex_lock(&ctx->hb_lock);
	for (struct shmx_lock *l = ctx->held; l; l = l->hnext) {
		held++;
		if (l->rec_written ||
		    now - l->held_at < SHMX_LOCK_RECORD_AFTER_NS)
			continue;
		l->rec_written = !shmx__raw_write_post(ctx, rec_addr(l), l->key,
						       l->rec, sizeof(l->rec));
	}
	pthread_mutex_unlock(&ctx->hb_lock);
	return held;
}

static int mode_ok(int mode)
{
	return mode == SHMX_LOCK_EXCLUSIVE || mode == SHMX_LOCK_SHARED;
}

SHMX_EXPORT int shmx_lock_acquire(struct shmx_lock *lock, int mode,
				  int timeout_ms, uint64_t *fence)
{
	struct shmx_lock *l = lock;
	uint64_t deadline;
	int ret;

	if (!lock_ok(l) || !mode_ok(mode))
		return -EINVAL;
	if (l->held)
		return -EDEADLK;
	if (timeout_ms < 0)
		timeout_ms = l->ctx->timeout_ms;
	deadline = shmx__now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		struct shmx_lock_ticket t;
		uint64_t prev, issued = shmx__now_ns(), start;

		ret = shmx__raw_fadd(l->ctx, word_addr(l), l->key,
				     shmx__lock_take_inc(mode), &prev);
		/* Broken under the add: a ticket may have been taken that
		 * nobody waits on; a lease after its turn the lock is taken
		 * over from it.  Line up again. */
		if (broke(ret) && shmx__now_ns() < deadline)
			continue;
		if (ret)
			return ret;
		t = shmx__lock_ticket(prev, mode);
		l->word = prev + shmx__lock_take_inc(mode);
		l->word_seen = 1;
		if (!shmx__lock_ticket_valid(&t)) {
			ret = wait_epoch(l, t.tag, deadline);
			if (ret)
				return ret;
			continue;
		}
		ret = wait_turn(l, &t, l->word, issued, deadline, &start);
		if (ret == -EAGAIN)
			continue;
		if (ret == -ETIMEDOUT)
			orphan(l, &t);
		if (ret)
			return ret;
		ret = hold(l, &t, start, fence);
		if (ret <= 0)
			return ret;
		/* Taken over between its grant and now: line up again. */
	}
}

SHMX_EXPORT int shmx_lock_try(struct shmx_lock *lock, int mode, uint64_t *fence)
{
	struct shmx_lock *l = lock;
	uint64_t w;
	int ret;

	if (!lock_ok(l) || !mode_ok(mode))
		return -EINVAL;
	if (l->held)
		return -EDEADLK;
	/* This context's own releases first: a try must not find a lock
	 * held that this process has let go (the fabric may run a later
	 * operation before an earlier atomic). */
	ret = shmx__lock_settle(l->ctx);
	if (ret)
		return ret;
	w = l->word;
	/* Not seen yet, or taken when last seen (perhaps long ago): look. */
	if (!l->word_seen || !shmx__lock_free_for(w, mode)) {
		ret = read_word(l, &w);
		if (ret)
			return ret;
	}
	/* A few rounds: each failed swap means another member moved. */
	for (int tries = 0; tries < 8; tries++) {
		uint64_t old, issued;

		if (!shmx__lock_free_for(w, mode)) {
			if (!shmx__lock_quiet(w))
				return -EBUSY;
			/* Quiet with no valid ticket left: a new epoch. */
			ret = new_epoch(l, w);
			if (!ret)
				ret = read_word(l, &w);
			if (ret)
				return ret;
			continue;
		}
		issued = shmx__now_ns();
		ret = shmx__raw_cas(l->ctx, word_addr(l), l->key, w,
				    w + shmx__lock_take_inc(mode), &old);
		if (ret)
			return ret;
		if (old == w) {
			struct shmx_lock_ticket t = shmx__lock_ticket(w, mode);

			l->word = w + shmx__lock_take_inc(mode);
			ret = hold(l, &t, issued, fence);
			return ret > 0 ? -EBUSY : ret;
		}
		w = l->word = old;
	}
	return -EBUSY;
}

static void release_done(struct shmx_ctx *ctx, struct shmx_op *op, int status);

/*
 * Post one round of a release: a swap from @w and, when others wait, one
 * from @w plus one exclusive ticket (under contention somebody has
 * usually taken one since the holder last looked).  At most one can
 * succeed: the counts only grow, and a release changes a count no ticket
 * does.  ctx->lock held.  0 when at least one was posted.
 */
static int release_round(struct shmx_ctx *ctx, struct shmx_lock *l, uint64_t w)
{
	uint64_t guess[2] = { w, w + SHMX_LW_TAKE_EXCL };
	/* The second guess only where others wait: alone, it is a wasted
	 * atomic. */
	int n = shmx__lock_outstanding(w) > 1 ? 2 : 1;

	l->rel_inflight = 0;
	l->rel_hit = 0;
	l->rel_err = 0;
	for (int i = 0; i < n; i++)
		if (!shmx__raw_cas_post_locked(ctx, word_addr(l), l->key,
					       guess[i], guess[i] + l->rel_inc,
					       release_done, l))
			l->rel_inflight++;
	return l->rel_inflight ? 0 : -EAGAIN;
}

/*
 * A release's swap completed (ctx->lock held, any thread that polls).
 * When its round is over and no swap hit, others took tickets since: swap
 * again from the word as it is now, while the hold is still on.
 * Otherwise the release is over: done, or the hold was taken over, or a
 * swap failed with its connection (then the lease passes the lock on).
 */
static void release_done(struct shmx_ctx *ctx, struct shmx_op *op, int status)
{
	struct shmx_lock *l = op->done_arg;

	if (status)
		l->rel_err = status;
	else if (op->result == op->done_expect)
		l->rel_hit = 1;
	else
		l->rel_last = op->result;
	if (--l->rel_inflight)
		return;
	if (!l->rel_hit && !l->rel_err &&
	    shmx__lock_ticket_state(&l->rel_t, l->rel_last) ==
		    SHMX_LT_GRANTED &&
	    !release_round(ctx, l, l->rel_last))
		return;
	if (!l->rel_hit && l->rel_err)
		shmx__log(SHMX_LOG_DEBUG,
			  "lock %llu: release lost with its connection (%s); "
			  "the lease passes the lock on",
			  (unsigned long long)l->id,
			  shmx__strerror(l->rel_err));
	l->releasing = 0;
	__atomic_fetch_sub(&ctx->lock_releasing, 1, __ATOMIC_RELAXED);
}

static int not_releasing(void *arg)
{
	return !((struct shmx_lock *)arg)->releasing;
}

static int none_releasing(void *arg)
{
	return !__atomic_load_n(&((struct shmx_ctx *)arg)->lock_releasing,
				__ATOMIC_RELAXED);
}

/* Progress @ctx until @done(@arg), within the context's timeout. */
static int settle(struct shmx_ctx *ctx, int (*done)(void *), void *arg)
{
	return shmx__progress_until(ctx, done, arg,
				    shmx__now_ns() + (uint64_t)ctx->timeout_ms *
							     1000000ull);
}

int shmx__lock_settle(struct shmx_ctx *ctx)
{
	if (!__atomic_load_n(&ctx->lock_releasing, __ATOMIC_RELAXED))
		return 0;
	return settle(ctx, none_releasing, ctx);
}

/*
 * Within the lease, a release is one compare-and-swap posted and not
 * waited for: no takeover can come before the lease ends, so the swap
 * cannot meet another epoch; if others took tickets meanwhile, the
 * swap's completion posts the next one (release_done), in whatever
 * thread polls the context next (the heartbeat thread at the latest,
 * within a millisecond).  0, or -errno when nothing was posted.
 */
static int release_post(struct shmx_lock *l, uint64_t inc)
{
	struct shmx_ctx *ctx = l->ctx;
	int ret;

	pthread_mutex_lock(&ctx->lock);
	l->rel_t = l->t;
	l->rel_inc = inc;
	ret = release_round(ctx, l, l->word);
	if (!ret) {
		l->releasing = 1;
		__atomic_fetch_add(&ctx->lock_releasing, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

int shmx__lock_releases_run(struct shmx_ctx *ctx)
{
	int n = (int)__atomic_load_n(&ctx->lock_releasing, __ATOMIC_RELAXED);

	if (n) {
		pthread_mutex_lock(&ctx->lock);
		(void)shmx__progress_locked(ctx);
		pthread_mutex_unlock(&ctx->lock);
	}
	return n;
}

SHMX_EXPORT int shmx_lock_release(struct shmx_lock *lock)
{
	struct shmx_lock *l = lock;
	uint64_t w, old, inc;
	int ret = 0;

	if (!lock_ok(l))
		return -EINVAL;
	if (!l->held)
		return -EPERM;
	inc = shmx__lock_done_inc(l->held);
	/* The previous hold's release is over before this one starts (it
	 * is, unless its completion is still unread). */
	ret = settle(l->ctx, not_releasing, l);
	if (ret)
		return ret;
	if (unhold(l) && l->held == SHMX_LOCK_SHARED) {
		uint8_t zero[SHMX_LOCK_REC_SIZE] = { 0 };

		/* Posted before the swap below; on a fabric that reorders
		 * it may land after, and clear a later reader's record in
		 * that place (the listing then only counts that reader). */
		(void)shmx__raw_write_post(l->ctx, rec_addr(l), l->key, zero,
					   sizeof(zero));
	}
	/* Leave a margin: the swap must land well before the lease ends. */
	if (shmx__now_ns() + l->lease_ns / 8 < l->lease_end &&
	    !release_post(l, inc)) {
		l->held = 0;
		return 0;
	}
	w = l->word;
	for (int tries = 0;; tries++) {
		if (shmx__lock_ticket_state(&l->t, w) != SHMX_LT_GRANTED) {
			/* A new epoch began: taken over. */
			ret = -ESTALE;
			break;
		}
		ret = shmx__raw_cas(l->ctx, word_addr(l), l->key, w, w + inc,
				    &old);
		if (broke(ret)) {
			/* Did the swap happen?  Still granted: no; the same
			 * epoch moved on: yes; a new epoch: taken over. */
			ret = read_word(l, &w);
			if (ret)
				break;
			if (shmx__lock_ticket_state(&l->t, w) ==
			    SHMX_LT_GRANTED)
				continue;
			ret = shmx__lw_split(w).tag == l->t.tag ? 0 : -ESTALE;
			break;
		}
		if (ret)
			break;
		if (old == w) {
			l->word = w + inc;
			break;
		}
		/* Others took tickets or released meanwhile. */
		w = l->word = old;
		if (tries >= 16)
			sched_yield();
	}
	l->held = 0;
	if (!ret && shmx__now_ns() > l->lease_end)
		ret = -ESTALE;
	return ret;
}

SHMX_EXPORT int shmx_lock_check(struct shmx_lock *lock, uint64_t fence)
{
	struct shmx_lock *l = lock;
	uint64_t w;
	int ret;

	if (!lock_ok(l))
		return -EINVAL;
	if (!l->held)
		return -EPERM;
	if (fence != l->fence)
		return -ESTALE;
	ret = read_word(l, &w);
	if (ret)
		return ret;
	if (shmx__lock_ticket_state(&l->t, w) != SHMX_LT_GRANTED ||
	    shmx__now_ns() > l->lease_end)
		return -ESTALE;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Tickets given up, passed on by the heartbeat thread                     */
/* ---------------------------------------------------------------------- */

/* 1 when @o is finished with (released, void, or too old), else 0. */
static int orphan_step(struct shmx_ctx *ctx, struct shmx__lock_orphan *o)
{
	uint64_t w, old;

	if (shmx__raw_read(ctx, o->raddr + SHMX_LOCK_WORD_OFF, o->key, &w, 8))
		return 1;
	for (int tries = 0; tries < 16; tries++) {
		switch (shmx__lock_ticket_state(&o->t, w)) {
		case SHMX_LT_VOID:
			return 1;
		case SHMX_LT_WAIT:
			return shmx__now_ns() > o->give_up;
		}
		if (shmx__raw_cas(ctx, o->raddr + SHMX_LOCK_WORD_OFF, o->key, w,
				  w + shmx__lock_done_inc(o->t.mode), &old))
			return 1;
		if (old == w)
			return 1;
		w = old;
	}
	return 0;
}

int shmx__lock_orphans_run(struct shmx_ctx *ctx)
{
	struct shmx__lock_orphan *list, **pp, *o;
	int left = 0;

	/* Taken off the list while the word is read: others may add. */
	pthread_mutex_lock(&ctx->hb_lock);
	list = ctx->lock_orphans;
	ctx->lock_orphans = NULL;
	pthread_mutex_unlock(&ctx->hb_lock);
	for (pp = &list; (o = *pp);) {
		if (orphan_step(ctx, o)) {
			*pp = o->next;
			free(o);
		} else {
			pp = &o->next;
			left++;
		}
	}
	if (!list)
		return left;
	pthread_mutex_lock(&ctx->hb_lock);
	for (pp = &list; *pp; pp = &(*pp)->next)
		;
	*pp = ctx->lock_orphans;
	ctx->lock_orphans = list;
	pthread_mutex_unlock(&ctx->hb_lock);
	return left;
}

void shmx__locks_rebase(struct shmx_ctx *ctx, uint64_t key, uint64_t base)
{
	uint64_t old_base;
	int move;

	pthread_mutex_lock(&ctx->lock);
	old_base = ctx->lock_base;
	move = ctx->lock_table_known &&
	       (key != ctx->lock_key || base != old_base);
	/* A lock keeps its slot: its offset from slot 0 stays. */
	for (struct shmx_lock *l = move ? ctx->locks : NULL; l; l = l->next) {
		l->raddr = base + (l->raddr - old_base);
		l->key = key;
	}
	ctx->lock_key = key;
	ctx->lock_base = base;
	ctx->lock_table_known = 1;
	pthread_mutex_unlock(&ctx->lock);
	if (!move)
		return;
	pthread_mutex_lock(&ctx->hb_lock);
	for (struct shmx__lock_orphan *o = ctx->lock_orphans; o; o = o->next) {
		o->raddr = base + (o->raddr - old_base);
		o->key = key;
	}
	pthread_mutex_unlock(&ctx->hb_lock);
}

void shmx__lock_orphans_free(struct shmx_ctx *ctx)
{
	while (ctx->lock_orphans) {
		struct shmx__lock_orphan *o = ctx->lock_orphans;

		ctx->lock_orphans = o->next;
		free(o);
	}
	/* The context is going: no list to keep (the heartbeat's is gone). */
	while (ctx->locks) {
		struct shmx_lock *l = ctx->locks;

		ctx->locks = l->next;
		l->magic = 0;
		free(l);
	}
}

/* ---------------------------------------------------------------------- */
/* Listing                                                                */
/* ---------------------------------------------------------------------- */

SHMX_EXPORT int shmx_lock_next(struct shmx_ctx *ctx, uint64_t from,
			       struct shmx_lock_info *info)
{
	struct shmx_lock_summary s;
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !info)
		return -EINVAL;
	ret = shmx__lock_settle(ctx);
	if (ret)
		return ret;
	shmx__msg_init(&req, SHMX_OP_LOCK_NEXT, 0, 0, 0);
	req.u.next.from = from;
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	memset(info, 0, sizeof(*info));
	info->id = rep.u.lock_info.id;
	shmx__strlcpy(info->name, rep.u.lock_info.name, sizeof(info->name));
	info->lease_ms = rep.u.lock_info.lease_ms;
	info->reservations = rep.u.lock_info.reservations;
	info->creator = rep.u.lock_info.creator;
	shmx__lock_summarize(rep.u.lock_info.slot, &s);
	info->mode = s.mode;
	info->holding = s.holding;
	info->waiters = s.waiters;
	info->fence = s.fence;
	info->word = s.word;
	info->nr_holders = s.nr_named;
	for (unsigned i = 0; i < s.nr_named; i++) {
		info->holders[i].node = s.rec[i].node;
		info->holders[i].fence = s.rec[i].fence;
		info->holders[i].since_ns = s.rec[i].since_ns;
	}
	return 0;
}
