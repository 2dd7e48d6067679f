/* SPDX-License-Identifier: MIT */
/*
 * lockword.c - pure functions over the global lock's word, epoch word and
 * holder records (lockword.h; the protocol is in docs/locks.md).
 */
#include <string.h>

#include "proto/le.h"
#include "proto/lockword.h"
#include "shmext/shmext.h"

uint64_t shmx__lock_take_inc(int mode)
{
	return mode == SHMX_LOCK_SHARED ? SHMX_LW_TAKE_SHARED
					: SHMX_LW_TAKE_EXCL;
}

uint64_t shmx__lock_done_inc(int mode)
{
	return mode == SHMX_LOCK_SHARED ? SHMX_LW_DONE_SHARED
					: SHMX_LW_DONE_EXCL;
}

struct shmx_lock_ticket shmx__lock_ticket(uint64_t prev, int mode)
{
	struct shmx_lw l = shmx__lw_split(prev);
	struct shmx_lock_ticket t = {
		.a = l.mx, .b = l.ms, .tag = l.tag, .mode = mode
	};

	return t;
}

int shmx__lock_ticket_valid(const struct shmx_lock_ticket *t)
{
	return t->a + t->b < SHMX_LOCK_TICKETS;
}

int shmx__lock_ticket_state(const struct shmx_lock_ticket *t, uint64_t w)
{
	struct shmx_lw l = shmx__lw_split(w);

	if (l.tag != t->tag || !shmx__lock_ticket_valid(t))
		return SHMX_LT_VOID;
	if (t->mode == SHMX_LOCK_SHARED) {
		/* Granted once every exclusive ticket before it is done; an
		 * exclusive one after it cannot pass before it is released. */
		if (l.nx == t->a)
			return SHMX_LT_GRANTED;
		return l.nx < t->a ? SHMX_LT_WAIT : SHMX_LT_VOID;
	}
	if (l.nx > t->a || (l.nx == t->a && l.ns > t->b))
		return SHMX_LT_VOID;
	return l.nx == t->a && l.ns == t->b ? SHMX_LT_GRANTED : SHMX_LT_WAIT;
}

unsigned shmx__lock_ahead(const struct shmx_lock_ticket *t, uint64_t w)
{
	struct shmx_lw l = shmx__lw_split(w);
	unsigned ahead = 0;

	if (t->a > l.nx)
		ahead += t->a - l.nx;
	if (t->mode == SHMX_LOCK_EXCLUSIVE && t->b > l.ns)
		ahead += t->b - l.ns;
	return ahead;
}

int shmx__lock_quiet(uint64_t w)
{
	struct shmx_lw l = shmx__lw_split(w);

	return l.nx == l.mx && l.ns == l.ms;
}

int shmx__lock_exhausted(uint64_t w)
{
	struct shmx_lw l = shmx__lw_split(w);

	return l.nx + l.ns >= SHMX_LOCK_TICKETS;
}

int shmx__lock_free_for(uint64_t w, int mode)
{
	struct shmx_lw l = shmx__lw_split(w);

	if (l.mx + l.ms >= SHMX_LOCK_TICKETS)
		return 0;
	if (mode == SHMX_LOCK_SHARED)
		return l.nx == l.mx;
	return l.nx == l.mx && l.ns == l.ms;
}

uint64_t shmx__lock_next_epoch_word(uint64_t w)
{
	uint64_t tag = ((w >> SHMX_LW_TAG_SHIFT) + 1) & 0xffu;

	return tag << SHMX_LW_TAG_SHIFT;
}

unsigned shmx__lock_outstanding(uint64_t w)
{
	struct shmx_lw l = shmx__lw_split(w);
	unsigned n = 0;

	if (l.mx > l.nx)
		n += l.mx - l.nx;
	if (l.ms > l.ns)
		n += l.ms - l.ns;
	return n;
}

uint64_t shmx__lock_progress(uint64_t w)
{
	uint64_t keep = (0xffull << SHMX_LW_TAG_SHIFT) |
			((uint64_t)SHMX_LW_MASK << SHMX_LW_NX_SHIFT) |
			((uint64_t)SHMX_LW_MASK << SHMX_LW_NS_SHIFT);

	return w & keep;
}

int shmx__lock_epoch_of(unsigned tag, uint64_t ew, uint64_t *epoch)
{
	unsigned low = (unsigned)(ew & 0xffu);

	if (low == (tag & 0xffu)) {
		*epoch = ew;
		return 0;
	}
	if (low == ((tag + 1) & 0xffu) && ew > 0) {
		*epoch = ew - 1;
		return 0;
	}
	return -1;
}

int shmx__lock_epoch_bump(unsigned tag, uint64_t ew, uint64_t *to)
{
	unsigned low = (unsigned)(ew & 0xffu);

	if (low == (tag & 0xffu)) {
		*to = ew + 1;
		return 1;
	}
	if (low == ((tag + 1) & 0xffu)) {
		*to = ew;
		return 0;
	}
	return -1;
}

uint64_t shmx__lock_fence(uint64_t epoch, const struct shmx_lock_ticket *t)
{
	return (epoch << 16) + t->a + t->b + 1;
}

unsigned shmx__lock_rec_index(const struct shmx_lock_ticket *t)
{
	return (t->a + t->b) % SHMX_LOCK_RECORDS;
}

void shmx__lock_rec_put(void *buf, const struct shmx_lock_rec *r)
{
	uint8_t *p = buf;

	shmx__put_le(p, r->fence, 8);
	shmx__put_le(p + 8, r->since_ns, 8);
	shmx__put_le(p + 16, r->node, 4);
	shmx__put_le(p + 20, r->a, 2);
	p[22] = r->mode;
	p[23] = 0;
}

void shmx__lock_rec_get(const void *buf, struct shmx_lock_rec *r)
{
	const uint8_t *p = buf;

	r->fence = shmx__get_le(p, 8);
	r->since_ns = shmx__get_le(p + 8, 8);
	r->node = (uint32_t)shmx__get_le(p + 16, 4);
	r->a = (uint16_t)shmx__get_le(p + 20, 2);
	r->mode = p[22];
}

int shmx__lock_rec_live(const struct shmx_lock_rec *r, uint64_t w,
			uint64_t epoch)
{
	struct shmx_lock_ticket t;
	uint64_t ab;

	if (!r->fence || r->fence >> 16 != epoch || !(r->fence & 0xffffu))
		return 0;
	ab = (r->fence & 0xffffu) - 1;
	if (r->a > ab || ab >= SHMX_LOCK_TICKETS)
		return 0;
	t.a = r->a;
	t.b = (unsigned)(ab - r->a);
	t.tag = (unsigned)(epoch & 0xffu);
	if (r->mode == SHMX_LOCK_EXCLUSIVE)
		t.mode = SHMX_LOCK_EXCLUSIVE;
	else if (r->mode == SHMX_LOCK_SHARED)
		t.mode = SHMX_LOCK_SHARED;
	else
		return 0;
	/* A shared ticket of a word whose shared count has not reached it
	 * was never taken in this epoch's word as listed. */
	if (t.mode == SHMX_LOCK_SHARED && t.b >= shmx__lw_split(w).ms)
		return 0;
	return shmx__lock_ticket_state(&t, w) == SHMX_LT_GRANTED;
}

void shmx__lock_summarize(const void *slot, struct shmx_lock_summary *s)
{
	const uint8_t *p = slot;
	struct shmx_lw l;
	unsigned excl = 0, shared = 0, taken;

	memset(s, 0, sizeof(*s));
	s->word = shmx__get_le(p + SHMX_LOCK_WORD_OFF, 8);
	l = shmx__lw_split(s->word);
	if (shmx__lock_epoch_of(l.tag, shmx__get_le(p + SHMX_LOCK_EPOCH_OFF, 8),
				&s->epoch))
		s->epoch = shmx__get_le(p + SHMX_LOCK_EPOCH_OFF, 8);
	for (unsigned i = 0; i < SHMX_LOCK_RECORDS; i++) {
		struct shmx_lock_rec r;

		shmx__lock_rec_get(
			p + SHMX_LOCK_REC_OFF + i * SHMX_LOCK_REC_SIZE, &r);
		if (!shmx__lock_rec_live(&r, s->word, s->epoch))
			continue;
		s->rec[s->nr_named++] = r;
		if (r.mode == SHMX_LOCK_EXCLUSIVE)
			excl++;
		else
			shared++;
	}
	taken = l.mx + l.ms;
	if (taken)
		s->fence =
			(s->epoch << 16) +
			(taken < SHMX_LOCK_TICKETS ? taken : SHMX_LOCK_TICKETS);
	/* Who holds it, from the word where it tells alone: only shared
	 * tickets outstanding are all granted; only exclusive ones, the
	 * first is.  Mixed queues: the records say. */
	if (shmx__lock_quiet(s->word))
		return;
	if (l.mx == l.nx) {
		/* Shared tickets past the epoch's valid ones wait. */
		unsigned valid = SHMX_LOCK_TICKETS - l.nx;

		s->mode = SHMX_LOCK_SHARED;
		s->holding = (l.ms < valid ? l.ms : valid) - l.ns;
	} else if (l.ms == l.ns || excl) {
		s->mode = SHMX_LOCK_EXCLUSIVE;
		s->holding = l.nx + l.ns < SHMX_LOCK_TICKETS ? 1 : 0;
	} else if (shared) {
		s->mode = SHMX_LOCK_SHARED;
		s->holding = shared;
	}
	s->waiters = shmx__lock_outstanding(s->word) - s->holding;
}
