/* SPDX-License-Identifier: MIT */
/*
 * test_lockword.c - the global lock's word rules (proto/lockword.h): the
 * word's fields, tickets and their states, epochs and fences, holder
 * records, listings' summaries, and a simulation that runs the protocol of
 * extlayer/locks.c step by step over one word with random interleavings,
 * crashes and takeovers, checking mutual exclusion, first-come order and
 * growing fences after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/lockword.h"
#include "shmext/shmext.h"

#define X SHMX_LOCK_EXCLUSIVE
#define S SHMX_LOCK_SHARED

static struct shmx_lock_ticket take(uint64_t *w, int mode)
{
	struct shmx_lock_ticket t = shmx__lock_ticket(*w, mode);

	*w += shmx__lock_take_inc(mode);
	return t;
}

static void test_fields(void **state)
{
	uint64_t w = 0x17ull << SHMX_LW_TAG_SHIFT;
	struct shmx_lw l;

	(void)state;
	w += 3 * SHMX_LW_TAKE_EXCL + 5 * SHMX_LW_TAKE_SHARED +
	     2 * SHMX_LW_DONE_EXCL + 4 * SHMX_LW_DONE_SHARED;
	l = shmx__lw_split(w);
	assert_int_equal(l.mx, 3);
	assert_int_equal(l.ms, 5);
	assert_int_equal(l.nx, 2);
	assert_int_equal(l.ns, 4);
	assert_int_equal(l.tag, 0x17);
	assert_int_equal(shmx__lock_outstanding(w), 2);
	assert_false(shmx__lock_quiet(w));
	assert_int_equal(shmx__lock_next_epoch_word(w),
			 0x18ull << SHMX_LW_TAG_SHIFT);
	assert_int_equal(
		shmx__lock_next_epoch_word(0xffull << SHMX_LW_TAG_SHIFT), 0);
	/* Progress ignores tickets taken, not releases or the tag. */
	assert_int_equal(shmx__lock_progress(w + SHMX_LW_TAKE_EXCL),
			 shmx__lock_progress(w));
	assert_int_not_equal(shmx__lock_progress(w + SHMX_LW_DONE_SHARED),
			     shmx__lock_progress(w));
}

static void test_exclusive_fifo(void **state)
{
	uint64_t w = 0;
	struct shmx_lock_ticket a, b;

	(void)state;
	a = take(&w, X);
	b = take(&w, X);
	assert_int_equal(shmx__lock_ticket_state(&a, w), SHMX_LT_GRANTED);
	assert_int_equal(shmx__lock_ticket_state(&b, w), SHMX_LT_WAIT);
	assert_int_equal(shmx__lock_ahead(&b, w), 1);
	w += shmx__lock_done_inc(X);
	assert_int_equal(shmx__lock_ticket_state(&a, w), SHMX_LT_VOID);
	assert_int_equal(shmx__lock_ticket_state(&b, w), SHMX_LT_GRANTED);
	w += shmx__lock_done_inc(X);
	assert_true(shmx__lock_quiet(w));
	assert_true(shmx__lock_free_for(w, X));
}

static void test_readers_writers(void **state)
{
	uint64_t w = 0;
	struct shmx_lock_ticket r1, r2, wr, r3;

	(void)state;
	r1 = take(&w, S);
	r2 = take(&w, S);
	wr = take(&w, X);
	r3 = take(&w, S);
	/* Readers before the writer share; the writer waits for both; the
	 * reader after it waits for the writer. */
	assert_int_equal(shmx__lock_ticket_state(&r1, w), SHMX_LT_GRANTED);
	assert_int_equal(shmx__lock_ticket_state(&r2, w), SHMX_LT_GRANTED);
	assert_int_equal(shmx__lock_ticket_state(&wr, w), SHMX_LT_WAIT);
	assert_int_equal(shmx__lock_ticket_state(&r3, w), SHMX_LT_WAIT);
	assert_int_equal(shmx__lock_ahead(&wr, w), 2);
	assert_false(shmx__lock_free_for(w, S));
	w += shmx__lock_done_inc(S);
	w += shmx__lock_done_inc(S);
	assert_int_equal(shmx__lock_ticket_state(&wr, w), SHMX_LT_GRANTED);
	assert_int_equal(shmx__lock_ticket_state(&r3, w), SHMX_LT_WAIT);
	w += shmx__lock_done_inc(X);
	assert_int_equal(shmx__lock_ticket_state(&r3, w), SHMX_LT_GRANTED);
	/* Readers alone: a try in shared mode goes in, exclusive not. */
	assert_true(shmx__lock_free_for(w, S));
	assert_false(shmx__lock_free_for(w, X));
}

static void test_epochs(void **state)
{
	uint64_t w = 0x41ull << SHMX_LW_TAG_SHIFT, e, to;
	struct shmx_lock_ticket t;
	unsigned i;

	(void)state;
	/* The last valid ticket, then one past them. */
	for (i = 0; i + 1 < SHMX_LOCK_TICKETS; i++) {
		t = take(&w, i % 3 ? S : X);
		assert_true(shmx__lock_ticket_valid(&t));
		w += shmx__lock_done_inc(t.mode);
	}
	assert_false(shmx__lock_exhausted(w));
	t = take(&w, X);
	assert_true(shmx__lock_ticket_valid(&t));
	assert_false(shmx__lock_free_for(w, S));
	t = take(&w, S);
	assert_false(shmx__lock_ticket_valid(&t));
	assert_int_equal(shmx__lock_ticket_state(&t, w), SHMX_LT_VOID);
	w += shmx__lock_done_inc(X);
	assert_true(shmx__lock_exhausted(w));
	assert_false(shmx__lock_quiet(w));

	/* Epoch word: equal, one ahead (half-made), moved on. */
	assert_int_equal(shmx__lock_epoch_of(0x41, 0x341, &e), 0);
	assert_int_equal(e, 0x341);
	assert_int_equal(shmx__lock_epoch_of(0x41, 0x342, &e), 0);
	assert_int_equal(e, 0x341);
	assert_int_equal(shmx__lock_epoch_of(0x41, 0x343, &e), -1);
	assert_int_equal(shmx__lock_epoch_of(0xff, 0x300, &e), 0);
	assert_int_equal(e, 0x2ff);
	assert_int_equal(shmx__lock_epoch_bump(0x41, 0x341, &to), 1);
	assert_int_equal(to, 0x342);
	assert_int_equal(shmx__lock_epoch_bump(0x41, 0x342, &to), 0);
	assert_int_equal(to, 0x342);
	assert_int_equal(shmx__lock_epoch_bump(0x41, 0x343, &to), -1);

	/* Fences grow within an epoch and across it. */
	t.a = 4000;
	t.b = 95;
	assert_true(shmx__lock_fence(7, &t) <
		    shmx__lock_fence(
			    8, &(struct shmx_lock_ticket){ .a = 0, .b = 0 }));
}

static void test_records(void **state)
{
	uint8_t slot[SHMX_LOCK_SLOT] = { 0 };
	struct shmx_lock_rec r = { .fence = (5ull << 16) + 4,
				   .since_ns = 123456789,
				   .node = 42,
				   .a = 1,
				   .mode = X },
			     back;
	struct shmx_lock_summary s;
	uint64_t w = 5ull << SHMX_LW_TAG_SHIFT;
	struct shmx_lock_ticket t;

	(void)state;
	shmx__lock_rec_put(slot + SHMX_LOCK_REC_OFF, &r);
	shmx__lock_rec_get(slot + SHMX_LOCK_REC_OFF, &back);
	assert_memory_equal(&back, &r, sizeof(r));
	/* Pinned bytes: fence little-endian at 0, node at 16. */
	assert_int_equal(slot[SHMX_LOCK_REC_OFF], 4);
	assert_int_equal(slot[SHMX_LOCK_REC_OFF + 2], 5);
	assert_int_equal(slot[SHMX_LOCK_REC_OFF + 16], 42);

	/* A word where X ticket (1, 2) holds: S, S, X(1,2) after an X. */
	take(&w, X);
	w += shmx__lock_done_inc(X);
	take(&w, S);
	take(&w, S);
	w += 2 * shmx__lock_done_inc(S);
	t = take(&w, X);
	assert_int_equal(t.a, 1);
	assert_int_equal(t.b, 2);
	take(&w, S);
	for (int i = 0; i < 8; i++)
		slot[i] = (uint8_t)(w >> (8 * i));
	slot[8] = 5;
	r.fence = shmx__lock_fence(5, &t);
	r.a = 1;
	assert_true(shmx__lock_rec_live(&r, w, 5));
	assert_false(shmx__lock_rec_live(&r, w, 6));
	memset(slot + SHMX_LOCK_REC_OFF, 0, SHMX_LOCK_RECORDS * 24);
	shmx__lock_rec_put(
		slot + SHMX_LOCK_REC_OFF + shmx__lock_rec_index(&t) * 24, &r);
	shmx__lock_summarize(slot, &s);
	assert_int_equal(s.mode, X);
	assert_int_equal(s.holding, 1);
	assert_int_equal(s.waiters, 1);
	assert_int_equal(s.nr_named, 1);
	assert_int_equal(s.rec[0].node, 42);
	assert_int_equal(s.fence, (5ull << 16) + 5);
	/* Released: the record no longer counts. */
	w += shmx__lock_done_inc(X);
	assert_false(shmx__lock_rec_live(&r, w, 5));
}

/* ---------------------------------------------------------------------- */
/* The protocol, simulated                                               */
/* ---------------------------------------------------------------------- */

enum { IDLE, TAKE, WAIT, HOLD, RELEASE, DEAD };

struct actor {
	int st, mode;
	struct shmx_lock_ticket t;
	uint64_t seen;	   /* the word as last seen */
	uint64_t progress; /* the progress part it last saw change */
	long since;	   /* step it saw it change */
	uint64_t fence;
	long order; /* when it took its ticket, for FIFO */
};

#define ACTORS 6
#define LEASE 400 /* steps */

static uint64_t word, epoch_word;
static long step_no;

/* The epoch's full value for a tag, as locks.c's epoch_get does. */
static uint64_t epoch_for(unsigned tag)
{
	uint64_t e;

	assert_int_equal(shmx__lock_epoch_of(tag, epoch_word, &e), 0);
	return e;
}

/* locks.c's new_epoch, with the two swaps made at once. */
static void new_epoch(uint64_t w)
{
	uint64_t to;

	if (shmx__lock_epoch_bump(shmx__lw_split(w).tag, epoch_word, &to) < 0)
		return;
	epoch_word = to;
	if (word == w)
		word = shmx__lock_next_epoch_word(w);
}

static void actor_step(struct actor *a)
{
	switch (a->st) {
	case IDLE:
		a->mode = rand() % 3 ? X : S;
		a->st = TAKE;
		break;
	case TAKE:
		a->t = shmx__lock_ticket(word, a->mode);
		word += shmx__lock_take_inc(a->mode);
		a->seen = word;
		a->progress = shmx__lock_progress(word);
		a->since = step_no;
		a->order = step_no;
		a->st = WAIT;
		break;
	case WAIT:
		a->seen = word; /* a read */
		if (!shmx__lock_ticket_valid(&a->t)) {
			if (shmx__lw_split(a->seen).tag != a->t.tag)
				a->st = TAKE;
			else if (shmx__lock_exhausted(a->seen))
				new_epoch(a->seen);
			break;
		}
		switch (shmx__lock_ticket_state(&a->t, a->seen)) {
		case SHMX_LT_GRANTED:
			a->fence = shmx__lock_fence(epoch_for(a->t.tag), &a->t);
			a->st = HOLD;
			return;
		case SHMX_LT_VOID:
			a->st = TAKE;
			return;
		}
		if (shmx__lock_progress(a->seen) != a->progress) {
			a->progress = shmx__lock_progress(a->seen);
			a->since = step_no;
		} else if (step_no - a->since > LEASE) {
			new_epoch(a->seen);
			a->since = step_no;
		}
		break;
	case HOLD:
		a->st = rand() % 400 ? RELEASE : DEAD;
		break;
	case RELEASE:
		/* One swap from what it last saw; on failure, look again. */
		if (shmx__lock_ticket_state(&a->t, a->seen) !=
		    SHMX_LT_GRANTED) {
			a->st = IDLE;
			break;
		}
		if (word == a->seen) {
			word += shmx__lock_done_inc(a->mode);
			a->st = IDLE;
		} else {
			a->seen = word;
		}
		break;
	}
}

static void test_simulation(void **state)
{
	struct actor act[ACTORS];
	uint64_t last_x_fence = 0;
	long grants = 0, takeovers_seen = 0;
	int last_holder = -1;

	(void)state;
	srand(7);
	word = 0xfeull << SHMX_LW_TAG_SHIFT; /* the tag wraps early on */
	epoch_word = 0x1fe;
	memset(act, 0, sizeof(act));
	for (step_no = 0; step_no < 400000; step_no++) {
		struct actor *a = &act[rand() % ACTORS];
		int was = a->st, x = 0, s = 0;
		uint64_t ew = epoch_word;

		if (a->st == DEAD && rand() % 2000 == 0)
			a->st = IDLE; /* a new process on that node */
		actor_step(a);
		if (epoch_word != ew)
			takeovers_seen++;
		if (was == WAIT && a->st == HOLD) {
			grants++;
			/* FIFO: no exclusive holder may have a waiter in
			 * the same epoch that took its ticket earlier and
			 * is still waiting with a valid ticket. */
			for (int i = 0; i < ACTORS; i++)
				if (act[i].st == WAIT &&
				    act[i].t.tag == a->t.tag &&
				    shmx__lock_ticket_valid(&act[i].t) &&
				    act[i].order < a->order && a->mode == X)
					fail_msg("actor %d passed an earlier "
						 "waiter",
						 (int)(a - act));
			if (a->mode == X) {
				assert_true(a->fence > last_x_fence);
				last_x_fence = a->fence;
				last_holder = (int)(a - act);
			}
		}
		/* Mutual exclusion among holds still on in the word. */
		for (int i = 0; i < ACTORS; i++) {
			if (act[i].st != HOLD && act[i].st != RELEASE)
				continue;
			if (shmx__lock_ticket_state(&act[i].t, word) !=
			    SHMX_LT_GRANTED)
				continue;
			if (act[i].mode == X)
				x++;
			else
				s++;
		}
		assert_true(x <= 1);
		assert_true(!(x && s));
	}
	(void)last_holder;
	/* The run went through epochs by exhaustion and by takeover. */
	print_message("grants %ld, epoch %#lx, takeovers %ld\n", grants,
		      (unsigned long)epoch_word, takeovers_seen);
	assert_true(grants > 10000);
	assert_true(epoch_word > 0x1fe + 5);
	assert_true(takeovers_seen > 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_exclusive_fifo),
		cmocka_unit_test(test_readers_writers),
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_simulation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
