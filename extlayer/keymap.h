/* SPDX-License-Identifier: MIT */
/*
 * keymap.h - libshmext's key map (docs/memory.md, "Client side: the key
 * map"): which remote key, remote address and rights this client holds for
 * each range of global addresses.  The data path looks a transfer up here
 * before it posts; a miss or too few rights sends the caller to the node
 * (GRANT), and the reply goes back in with shmx__km_insert().  A pure
 * module: no contexts, no fabric, no locks.
 *
 * The map holds disjoint ranges [start, start + len).  Inserting a range
 * that overlaps ranges already held replaces the overlapped parts: old
 * entries are trimmed, or split in two when the new range lies inside one
 * (the pieces keep their key, rights, epoch and tag; a right-hand piece's
 * remote base moves with its start).  The newest grant wins, because the
 * node revokes a key (deregisters its MR) before it hands out the one that
 * replaces it.  Ranges that only touch (one ends where the other starts) do
 * not overlap.  Adjacent entries are never merged.
 *
 * Addresses.  A range must not wrap: start + len <= UINT64_MAX, so the last
 * byte a range may hold is UINT64_MAX - 1 (UINT64_MAX is SHMX_GADDR_NULL,
 * never a byte), and its remote addresses rbase .. rbase + len - 1 must not
 * wrap either.  With these rules no computation here overflows.
 *
 * Cost.  An ordered array of entries, searched by bisection: lookup is
 * O(log n) (O(1) when the last hit covers the address again: the hot path
 * of repeated access to one object); insert, remove and remove_object are
 * O(log n) to find plus O(n) to move the tail (a client holds a few hundred
 * ranges, so a memmove of a few kilobytes).  Memory: n entries of 56 bytes,
 * capacity doubling.
 *
 * Thread safety: none.  One map belongs to one context and is used only
 * with that context's lock held (lookups too: a lookup updates the cache).
 * Entries are returned by copy, so nothing a caller holds points into the
 * map after the lock is dropped.
 *
 * Every function returns 0 or a negative errno, or nothing when it cannot
 * fail; each says which.  A NULL @km (or another required pointer) is
 * -EINVAL.
 */
#ifndef SHMX_EXT_KEYMAP_H
#define SHMX_EXT_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

#include "shmext/shmext.h"

/*
 * Rights of a key.  The same values as the protocol's SHMX_ACC_READ, _WRITE
 * and _ATOMIC (proto/proto.h), so a grant's rights go in unchanged once its
 * SHMX_ACC_OWNED flag is masked off.
 */
#define SHMX_KM_READ 0x1u
#define SHMX_KM_WRITE 0x2u
#define SHMX_KM_ATOMIC 0x4u
#define SHMX_KM_ALL (SHMX_KM_READ | SHMX_KM_WRITE | SHMX_KM_ATOMIC)

/* One range and the key this client holds for it. */
struct shmx__km_entry {
	shmx_gaddr_t start; /* first global address covered */
	uint64_t len;	    /* bytes, > 0 */
	uint64_t key;	    /* remote key for the transport */
	uint64_t rbase;	    /* remote address of @start */
	uint64_t epoch;	    /* ownership epoch that came with the key */
	uint32_t access;    /* SHMX_KM_* rights, nonzero */
	uint32_t kind;	    /* tag: what object (caller's numbering) ... */
	uint64_t id;	    /* ... and which one: see remove_object */
};

struct shmx__keymap {
	struct shmx__km_entry *v; /* sorted by start, disjoint */
	size_t n;		  /* entries in use */
	size_t cap;		  /* entries allocated */
	size_t hint;		  /* index of the last hit; checked on use */
	uint64_t cache_hits;	  /* lookups answered by @hint (statistics) */
};

/* The transport's address of @gaddr, which @e covers. */
static inline uint64_t shmx__km_raddr(const struct shmx__km_entry *e,
				      shmx_gaddr_t gaddr)
{
	return e->rbase + (gaddr - e->start);
}

/* Make @km an empty map.  Allocates nothing.  Returns nothing. */
void shmx__km_init(struct shmx__keymap *km);

/*
 * Drop every entry and free the map's memory; @km stays an empty, usable
 * map (this is also its destructor).  Returns nothing.
 */
void shmx__km_clear(struct shmx__keymap *km);

/* The number of entries.  O(1). */
size_t shmx__km_count(const struct shmx__keymap *km);

/*
 * Put *@e in the map, replacing whatever parts of older entries it
 * overlaps (see the top of this file).  Returns 0; -EINVAL when @e->len is
 * 0, the range or its remote addresses wrap, or @e->access is 0 or has
 * bits outside SHMX_KM_ALL; -ENOMEM when the array cannot grow (the map is
 * then unchanged).  O(log n + n).
 */
int shmx__km_insert(struct shmx__keymap *km, const struct shmx__km_entry *e);

/*
 * Find the entry that covers @gaddr and check that it has every right in
 * @need (SHMX_KM_* bits; 0 checks none).  On success copies it to *@out
 * and stores in *@cover the bytes of [@gaddr, @gaddr + @len) it covers:
 * min(@len, entry end - @gaddr), which is less than @len when the transfer
 * runs past the entry (the caller looks up the rest at @gaddr + *@cover).
 * Returns 0; -ENOENT when no entry covers @gaddr (*@out and *@cover
 * untouched); -EACCES when one does but lacks a right in @need (*@out and
 * *@cover are filled all the same, so the caller sees what it holds);
 * -EINVAL when @out or @cover is NULL.  O(log n), O(1) on a cache hit.
 */
int shmx__km_lookup(struct shmx__keymap *km, shmx_gaddr_t gaddr, uint64_t len,
		    uint32_t need, struct shmx__km_entry *out, uint64_t *cover);

/*
 * Remove the entry that covers @gaddr (all of it, not just @gaddr), copying
 * it to *@old first when @old is not NULL.  Returns 0, or -ENOENT when no
 * entry covers @gaddr.  O(log n + n).
 */
int shmx__km_remove(struct shmx__keymap *km, shmx_gaddr_t gaddr,
		    struct shmx__km_entry *old);

/*
 * Remove every entry tagged (@kind, @id): all the keys of one object, e.g.
 * when it is freed, closed or detached.  Returns 0 when at least one entry
 * went, -ENOENT when none had that tag.  O(n).
 */
int shmx__km_remove_object(struct shmx__keymap *km, uint32_t kind, uint64_t id);

/*
 * Remove every entry that overlaps [@start, @start + @len), each whole (the
 * node revoked the keys of that range).  Returns 0 when at least one entry
 * went, -ENOENT when none overlapped, -EINVAL (NULL, @len 0, or a range
 * that wraps).  O(n).
 */
int shmx__km_remove_range(struct shmx__keymap *km, shmx_gaddr_t start,
			  uint64_t len);

/*
 * Check the map's invariants: sorted, disjoint, no range or remote range
 * wraps, every entry valid, count within capacity.  O(n); for tests.
 * Returns the number of entries, or -EUCLEAN when an invariant is broken.
 */
long shmx__km_check(const struct shmx__keymap *km);

#endif /* SHMX_EXT_KEYMAP_H */
