/* SPDX-License-Identifier: MIT */
/*
 * lockword.h - the global lock's shared-memory layout (docs/locks.md): the
 * lock word, the epoch word and the holder records of one lock-table slot,
 * and pure functions over them used by libshmext (the protocol), shmnode
 * (is a slot quiet?) and the listing (who holds it?).
 *
 * Slot (SHMX_LOCK_SLOT bytes, 8-byte aligned, little-endian words):
 *   off size  field
 *     0    8  word     the lock word below; changed only by remote atomics
 *     8    8  epoch    the full epoch (its low 8 bits are the word's tag);
 *                      changed only by remote compare-and-swap
 *    16   96  records  SHMX_LOCK_RECORDS holder records of 24 bytes,
 *                      written by holders with RDMA WRITE (index: the
 *                      ticket's a + b modulo SHMX_LOCK_RECORDS)
 *   112   16  reserved zero
 *
 * Lock word (bit 0 = least significant):
 *   bits  0..13  ns   shared holds released
 *   bits 14..27  nx   exclusive holds released
 *   bits 28..41  ms   shared tickets taken
 *   bits 42..55  mx   exclusive tickets taken
 *   bits 56..63  tag  the epoch's low 8 bits
 * A ticket is the word's (mx, ms) before the taker's fetch-and-add: an
 * exclusive ticket (a, b) is granted when nx == a and ns == b, a shared one
 * when nx == a.  Only the first SHMX_LOCK_TICKETS tickets of an epoch
 * (a + b below it) are valid; later ones wait for the next epoch.  A new
 * epoch (tag + 1, every counter 0) starts when all valid tickets are done
 * (nx + ns == SHMX_LOCK_TICKETS) or when a waiter saw no progress for a
 * lease (a takeover).  The 14-bit counters leave room for 12288 tickets
 * past the valid ones before a carry: at most SHMX_LOCK_WAITERS_MAX
 * acquirers may wait on one lock at once.
 *
 * Holder record (24 bytes):
 *   off size  field
 *     0    8  fence    the hold's fence (shmx__lock_fence); 0: empty
 *     8    8  since    CLOCK_REALTIME nanoseconds of the grant
 *    16    4  node     the holder's node id
 *    20    2  a        the ticket's exclusive count
 *    22    1  mode     SHMX_LOCK_EXCLUSIVE or SHMX_LOCK_SHARED
 *    23    1  reserved
 */
#ifndef SHMX_PROTO_LOCKWORD_H
#define SHMX_PROTO_LOCKWORD_H

#include <stdint.h>

#define SHMX_LOCK_SLOT 128
#define SHMX_LOCK_WORD_OFF 0
#define SHMX_LOCK_EPOCH_OFF 8
#define SHMX_LOCK_REC_OFF 16
#define SHMX_LOCK_REC_SIZE 24
#define SHMX_LOCK_RECORDS 4

#define SHMX_LOCK_TICKETS 4096u	    /* valid tickets per epoch */
#define SHMX_LOCK_WAITERS_MAX 8192u /* acquirers at once, documented */

#define SHMX_LW_NS_SHIFT 0
#define SHMX_LW_NX_SHIFT 14
#define SHMX_LW_MS_SHIFT 28
#define SHMX_LW_MX_SHIFT 42
#define SHMX_LW_TAG_SHIFT 56
#define SHMX_LW_MASK 0x3fffu

/* What one fetch-and-add or compare-and-swap adds. */
#define SHMX_LW_TAKE_SHARED (1ull << SHMX_LW_MS_SHIFT)
#define SHMX_LW_TAKE_EXCL (1ull << SHMX_LW_MX_SHIFT)
#define SHMX_LW_DONE_SHARED (1ull << SHMX_LW_NS_SHIFT)
#define SHMX_LW_DONE_EXCL (1ull << SHMX_LW_NX_SHIFT)

/* A lock word taken apart. */
struct shmx_lw {
	unsigned ns, nx, ms, mx, tag;
};

static inline struct shmx_lw shmx__lw_split(uint64_t w)
{
	struct shmx_lw l = {
		.ns = (unsigned)(w >> SHMX_LW_NS_SHIFT) & SHMX_LW_MASK,
		.nx = (unsigned)(w >> SHMX_LW_NX_SHIFT) & SHMX_LW_MASK,
		.ms = (unsigned)(w >> SHMX_LW_MS_SHIFT) & SHMX_LW_MASK,
		.mx = (unsigned)(w >> SHMX_LW_MX_SHIFT) & SHMX_LW_MASK,
		.tag = (unsigned)(w >> SHMX_LW_TAG_SHIFT) & 0xffu,
	};
	return l;
}

/* A ticket: the counts before it was taken, and its epoch's tag. */
struct shmx_lock_ticket {
	unsigned a, b, tag;
	int mode; /* SHMX_LOCK_EXCLUSIVE or SHMX_LOCK_SHARED */
};

/* What one fetch-and-add in @mode adds to the word. */
uint64_t shmx__lock_take_inc(int mode);
/* What releasing a hold in @mode adds to the word. */
uint64_t shmx__lock_done_inc(int mode);

/* The ticket a fetch-and-add in @mode that returned @prev obtained. */
struct shmx_lock_ticket shmx__lock_ticket(uint64_t prev, int mode);
/* 1 when @t is one of its epoch's valid tickets, 0 when it must wait for
 * the next epoch (and take another ticket then). */
int shmx__lock_ticket_valid(const struct shmx_lock_ticket *t);

/*
 * Where ticket @t stands in word @w:
 *  SHMX_LT_GRANTED  its turn (or still its hold)
 *  SHMX_LT_WAIT     others are before it
 *  SHMX_LT_VOID     the epoch changed (or the counts moved past it): the
 *                   ticket, and any hold on it, is gone
 */
enum { SHMX_LT_GRANTED = 0, SHMX_LT_WAIT = 1, SHMX_LT_VOID = 2 };
int shmx__lock_ticket_state(const struct shmx_lock_ticket *t, uint64_t w);
/* Tickets before @t that are not done, from @w (its place in line; 0 when
 * granted). */
unsigned shmx__lock_ahead(const struct shmx_lock_ticket *t, uint64_t w);

/* 1 when every ticket taken in @w is done (nobody holds or waits). */
int shmx__lock_quiet(uint64_t w);
/* 1 when @w's epoch has no valid ticket left and all of them are done: a
 * new epoch may start at once. */
int shmx__lock_exhausted(uint64_t w);
/* 1 when a try in @mode would be granted at once on @w (its ticket would
 * be valid and granted). */
int shmx__lock_free_for(uint64_t w, int mode);
/* The word that starts the epoch after @w's: tag + 1, counters 0. */
uint64_t shmx__lock_next_epoch_word(uint64_t w);
/* Tickets taken and not done in @w. */
unsigned shmx__lock_outstanding(uint64_t w);
/* The progress part of @w (tag, nx, ns): a waiter's lease clock restarts
 * whenever it changes. */
uint64_t shmx__lock_progress(uint64_t w);

/*
 * The full epoch of a word with tag @tag, given the epoch word @ew: equal
 * low bits, or ew one ahead (a new epoch half made: its maker bumps the
 * epoch word first).  Returns 0 with *@epoch, or -1 when @ew says the epoch
 * has moved on past @tag.
 */
int shmx__lock_epoch_of(unsigned tag, uint64_t ew, uint64_t *epoch);
/* Before starting the epoch after tag @tag: the epoch word to
 * compare-and-swap to (*@to), 1 when @ew must be bumped first, 0 when it
 * already is, -1 when @ew has moved on (give up and look again). */
int shmx__lock_epoch_bump(unsigned tag, uint64_t ew, uint64_t *to);

/* The fence of ticket @t in epoch @epoch: epoch * 65536 + a + b + 1 (never
 * 0, which marks an empty record). */
uint64_t shmx__lock_fence(uint64_t epoch, const struct shmx_lock_ticket *t);
/* The record index of ticket @t. */
unsigned shmx__lock_rec_index(const struct shmx_lock_ticket *t);

/* A holder record. */
struct shmx_lock_rec {
	uint64_t fence;
	uint64_t since_ns;
	uint32_t node;
	uint16_t a;
	uint8_t mode;
};
void shmx__lock_rec_put(void *buf, const struct shmx_lock_rec *r);
void shmx__lock_rec_get(const void *buf, struct shmx_lock_rec *r);

/*
 * Is record @r a hold that is still on in word @w of epoch @epoch?  An
 * exclusive record is when its ticket is the granted exclusive one; a
 * shared record when no exclusive ticket has passed it.  Holders clear
 * their record when they release; with more shared holders than records a
 * later one overwrites an earlier one's, so shared holders are named at
 * most SHMX_LOCK_RECORDS at a time (docs/locks.md).
 */
int shmx__lock_rec_live(const struct shmx_lock_rec *r, uint64_t w,
			uint64_t epoch);

/* What a slot's bytes 0..111 say, for listings (shmx_lock_next). */
struct shmx_lock_summary {
	uint64_t word, epoch; /* epoch: the full epoch of the word's tag */
	int mode;	      /* 0 free, or the mode of the holds */
	unsigned holding;     /* holds granted and not released */
	unsigned waiters;     /* tickets taken and not granted */
	unsigned nr_named;    /* live records in rec[] */
	struct shmx_lock_rec rec[SHMX_LOCK_RECORDS];
	uint64_t fence; /* of the latest ticket taken; 0 if none */
};
/* Summarise @slot (at least SHMX_LOCK_REC_OFF + SHMX_LOCK_RECORDS *
 * SHMX_LOCK_REC_SIZE bytes, as the node read it). */
void shmx__lock_summarize(const void *slot, struct shmx_lock_summary *s);

#endif /* SHMX_PROTO_LOCKWORD_H */
