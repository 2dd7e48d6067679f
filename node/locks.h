/* SPDX-License-Identifier: MIT */
/*
 * locks.h - shmnode's table of global locks (docs/locks.md): which lock
 * lives in which slot of the lock table's memory, its name, lease and
 * creator, and who holds reservations of it.
 *
 * Pure bookkeeping: no transport and no wire protocol.  The caller owns
 * the slots' memory (shmnode maps and registers it once; a test passes a
 * buffer of its own) and hands it in at init: @nr_slots slots of
 * SHMX_LOCK_SLOT bytes, 8-byte aligned (proto/lockword.h gives a slot's
 * layout).  The table never writes a slot's lock word or epoch word
 * (bytes 0..15): members' remote atomics alone change them.  It reads the
 * lock word with 8-byte relaxed atomic loads, to see whether a lock is
 * quiet (every ticket taken is done: nobody holds or waits), and zeroes a
 * slot's holder records (bytes 16..127) with plain stores when it puts a
 * new lock there.  Not thread-safe: the server loop serialises every call.
 *
 * A lock has an id (from 1, increasing, never reused while the table
 * lives), a slot, a name ("" for an anonymous lock; a name is unique among
 * the locks), a lease in ms, the node id of the member that created it,
 * and per member the reservations that member holds (each of a client's
 * handles is one).  A lock lives while it has a reservation.
 *
 * Slots: a lock's slot goes back to the free set when the lock goes, and
 * is given to a new lock only when its word is quiet at that moment (a
 * member may still be waiting on a lock it gave up with its session:
 * such a slot is passed over until its waiters are gone, or their leases
 * have run out and someone's atomics made the word quiet).  Free slots
 * are tried in the order they were freed, the never used ones first.
 *
 * Errors: every call returns 0 or a negative errno and, on error, leaves
 * the locks and their reservations as they were.
 *
 * Cost, L = locks, R = members holding reservations of the lock
 * concerned: reserve and unreserve are O(log L + R) (a new lock also
 * looks at free slots until one is quiet); next is O(log L); member_gone
 * and fini are O(L * R).
 */
#ifndef SHMX_NODE_LOCKS_H
#define SHMX_NODE_LOCKS_H

#include <stdint.h>

#include "proto/lockword.h"
#include "proto/proto.h"
#include "rbtree.h"

/* Bytes of a slot a listing reports: the words and the holder records. */
#define NODE_LOCK_INFO_BYTES 112

/* The table.  Embed it; every field is private to locks.c. */
struct node_locks {
	uint8_t *mem;		      /* nr_slots * SHMX_LOCK_SLOT bytes */
	uint32_t nr_slots;	      /* the table's size */
	uint32_t *free_ring;	      /* free slot indexes, oldest first */
	uint32_t free_head;	      /* ring index of the oldest */
	uint32_t nr_free;	      /* slots in the ring */
	struct shmx__rb_root by_id;   /* every lock, by id */
	struct shmx__rb_root by_name; /* named locks, by name */
	uint64_t next_id;	      /* ids are never reused */
	uint32_t nr_locks;	      /* in by_id */
	uint64_t nr_reservations;     /* of every lock, every member */
};

/* A lock, as reserve and the listings report it. */
struct node_lock_info {
	uint64_t id;
	uint32_t slot;		  /* its slot's index in the table */
	char name[SHMX_NAME_MAX]; /* "" for an anonymous lock */
	uint32_t lease_ms;
	uint32_t creator;      /* node id of the member that created it */
	uint32_t reservations; /* of every member */
};

/*
 * Start an empty table over @nr_slots slots at @mem (8-byte aligned; it
 * must outlive the table).  Every slot is free; none is written.  Returns
 * 0, -EINVAL (@mem NULL, misaligned, or @nr_slots 0) or -ENOMEM.
 */
int node_locks_init(struct node_locks *lt, void *mem, uint32_t nr_slots);

/* Forget every lock and reservation (no slot is written).  @lt is left
 * empty and unusable until init; calling it twice is harmless. */
void node_locks_fini(struct node_locks *lt);

/*
 * One more reservation of a lock for @member, and *@out filled (may be
 * NULL), with *@created (may be NULL) 1 when this call created the lock:
 *  - @id nonzero, @name NULL or "": the lock @id;
 *  - @id 0, @name a name (1..SHMX_NAME_MAX - 1 printable bytes): the lock
 *    of that name, created when there is none;
 *  - @id 0, @name NULL or "": a new anonymous lock.
 * A lock created gets @lease_ms, creator @member, the next id, and a free
 * slot whose word is quiet, with its holder records zeroed.  @lease_ms
 * must be 1..SHMX_LOCK_LEASE_MAX_MS even when the lock exists.
 * Returns 0, or
 *  -EINVAL     @member 0, @id with a name, a bad name or @lease_ms
 *  -ENOENT     @id nonzero and no lock has it
 *  -ENOSPC     a lock to create, and no free slot is quiet
 *  -EOVERFLOW  the lock has 2^32 - 1 reservations already
 *  -ENOMEM     out of memory
 */
int node_lock_reserve(struct node_locks *lt, uint32_t member, uint64_t id,
		      const char *name, uint32_t lease_ms,
		      struct node_lock_info *out, int *created);

/*
 * Give up one of @member's reservations of lock @id; the lock goes (and
 * its slot is freed) with its last reservation.  Returns 0, or -ENOENT
 * (no lock @id, or @member holds no reservation of it), -EBUSY (the lock
 * word is not quiet: someone holds the lock or waits for it; nothing
 * changes).
 */
int node_lock_unreserve(struct node_locks *lt, uint32_t member, uint64_t id);

/*
 * @member has left or died: drop every reservation it holds, whatever the
 * lock words say, and end the locks that had no others.  Returns 0, or
 * -EINVAL for @member 0 (nothing done).
 */
int node_locks_member_gone(struct node_locks *lt, uint32_t member);

/*
 * Listings: fill *@info for the lock with the smallest id >= @from (pass
 * the last id + 1 to go on).  Returns 0, or -ENOENT when there is none.
 */
int node_lock_next(const struct node_locks *lt, uint64_t from,
		   struct node_lock_info *info);

/*
 * The first NODE_LOCK_INFO_BYTES bytes of slot @slot as they are now, into
 * @out: read one 64-bit word at a time with relaxed atomic loads (each
 * word whole, the words not from one instant), stored little-endian.
 * Never writes the slot.  Returns 0, or -EINVAL (@slot out of the table).
 */
int node_lock_slot_read(const struct node_locks *lt, uint32_t slot,
			uint8_t out[NODE_LOCK_INFO_BYTES]);

/*
 * How many locks the table holds (*@locks) and reservations of them, all
 * members' (*@reservations); either may be NULL.  Returns 0.
 */
int node_locks_count(const struct node_locks *lt, uint32_t *locks,
		     uint64_t *reservations);

/*
 * Check every invariant: the trees and their orders, names, reservation
 * counts and totals, each slot either a lock's or free, exactly once.
 * O(L * R + S); for tests.  Returns 0, or -EUCLEAN when inconsistent.
 */
int node_locks_check(const struct node_locks *lt);

/*
 * Persistence (persist.c): a lock as a flat record of this machine's byte
 * order (struct node_lock_rec, then nr_res reservation records), and back.
 * node_lock_save returns the record's length (larger than @cap: nothing
 * written) or 0 when there is no lock @id.  node_lock_load puts a saved
 * lock back in its slot (the slot's words are not touched: they are in
 * the backing file) and returns 0, -EBADMSG, -EEXIST (its id or name is
 * there) or -ENOMEM, nothing changed on error.  Once every lock is back,
 * node_locks_loaded makes the free ring of the slots no lock has: 0,
 * -EUCLEAN (two locks in one slot) or -ENOMEM.
 */
struct node_lock_res_rec {
	uint32_t member, count;
};

struct node_lock_rec {
	uint64_t id;
	uint32_t slot, lease_ms, creator;
	uint32_t nr_res;
	char name[SHMX_NAME_MAX];
};

size_t node_lock_save(const struct node_locks *lt, uint64_t id, void *buf,
		      size_t cap);
int node_lock_load(struct node_locks *lt, const void *buf, size_t len);
int node_locks_loaded(struct node_locks *lt);
/* The id the next lock gets; raise it to @next. */
uint64_t node_locks_next_id(const struct node_locks *lt);
void node_locks_set_next_id(struct node_locks *lt, uint64_t next);

#endif /* SHMX_NODE_LOCKS_H */
