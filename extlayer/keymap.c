/* SPDX-License-Identifier: MIT */
/*
 * keymap.c - the client's map from global-address ranges to remote keys:
 * an ordered array of disjoint ranges searched by bisection, with the last
 * hit cached.  keymap.h states the rules (overlap, wrapping, cost, locking).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keymap.h"
#include "proto/proto.h"

_Static_assert(SHMX_KM_READ == SHMX_ACC_READ &&
		       SHMX_KM_WRITE == SHMX_ACC_WRITE &&
		       SHMX_KM_ATOMIC == SHMX_ACC_ATOMIC,
	       "key map rights must equal the protocol's access bits");

#define KM_MIN_CAP 16

/* One past the last byte of @e; never overflows (insert checks). */
static inline uint64_t entry_end(const struct shmx__km_entry *e)
{
	return e->start + e->len;
}

/* Does @e obey the rules of keymap.h?  Returns 1 or 0. */
static int entry_valid(const struct shmx__km_entry *e)
{
	if (!e->len || e->len > UINT64_MAX - e->start)
		return 0;
	if (e->len - 1 > UINT64_MAX - e->rbase)
		return 0;
	return e->access && !(e->access & ~SHMX_KM_ALL);
}

void shmx__km_init(struct shmx__keymap *km)
{
	memset(km, 0, sizeof(*km));
}

void shmx__km_clear(struct shmx__keymap *km)
{
	free(km->v);
	shmx__km_init(km);
}

size_t shmx__km_count(const struct shmx__keymap *km)
{
	return km->n;
}

/*
 * The index of the first entry whose end is above @gaddr, i.e. the entry
 * that covers @gaddr or, when none does, the first one after it; km->n
 * when there is none.  Ends are sorted like starts (the ranges are
 * disjoint), so this is a bisection.  O(log n).
 */
static size_t first_ending_after(const struct shmx__keymap *km,
				 shmx_gaddr_t gaddr)
{
	size_t lo = 0, hi = km->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (entry_end(&km->v[mid]) <= gaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The index of the first entry that starts at or after @gaddr.  O(log n). */
static size_t first_starting_at(const struct shmx__keymap *km, size_t lo,
				shmx_gaddr_t gaddr)
{
	size_t hi = km->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (km->v[mid].start < gaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The index of the entry covering @gaddr, or km->n.  O(log n). */
static size_t find(const struct shmx__keymap *km, shmx_gaddr_t gaddr)
{
	size_t i = first_ending_after(km, gaddr);

	if (i < km->n && km->v[i].start <= gaddr)
		return i;
	return km->n;
}

/* Room for @want entries.  Returns 0 or -ENOMEM (the map unchanged). */
static int reserve(struct shmx__keymap *km, size_t want)
{
	struct shmx__km_entry *v;
	size_t cap = km->cap ? km->cap : KM_MIN_CAP;

	if (want <= km->cap)
		return 0;
	while (cap < want) {
		if (cap > SIZE_MAX / 2 / sizeof(*v))
			return -ENOMEM;
		cap *= 2;
	}
	v = realloc(km->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	km->v = v;
	km->cap = cap;
	return 0;
}

/*
 * Entries [i, j) overlap the new range [s, e): v[i] is the first that ends
 * after s, v[j] the first that starts at or after e.  They are replaced by
 * what survives of v[i] on the left of s, the new entry, and what survives
 * of v[j - 1] on the right of e (v[i] and v[j - 1] may be one entry: then
 * it is split in two).
 */
int shmx__km_insert(struct shmx__keymap *km, const struct shmx__km_entry *e)
{
	struct shmx__km_entry left, right;
	uint64_t s, end;
	size_t i, j, k, at;
	int has_left = 0, has_right = 0, ret;

	if (!km || !e || !entry_valid(e))
		return -EINVAL;
	s = e->start;
	end = entry_end(e);
	i = first_ending_after(km, s);
	j = first_starting_at(km, i, end);
	if (i < j && km->v[i].start < s) {
		left = km->v[i];
		left.len = s - left.start;
		has_left = 1;
	}
	if (i < j && entry_end(&km->v[j - 1]) > end) {
		right = km->v[j - 1];
		right.rbase += end - right.start;
		right.len = entry_end(&right) - end;
		right.start = end;
		has_right = 1;
	}
	k = (size_t)has_left + 1 + (size_t)has_right; /* entries for [i, j) */
	if (k > j - i) {
		ret = reserve(km, km->n + (k - (j - i)));
		if (ret)
			return ret;
	}
	memmove(&km->v[i + k], &km->v[j], (km->n - j) * sizeof(*km->v));
	km->n = km->n - (j - i) + k;
	at = i;
	if (has_left)
		km->v[at++] = left;
	km->hint = at; /* a lookup of the new grant usually follows */
	km->v[at++] = *e;
	if (has_right)
		km->v[at] = right;
	return 0;
}

int shmx__km_lookup(struct shmx__keymap *km, shmx_gaddr_t gaddr, uint64_t len,
		    uint32_t need, struct shmx__km_entry *out, uint64_t *cover)
{
	const struct shmx__km_entry *e;
	size_t i = km ? km->hint : 0;
	uint64_t left;

	if (!km || !out || !cover)
		return -EINVAL;
	/*
	 * The hint is only an index: it is trusted after checking that the
	 * entry there (if any) covers @gaddr, and ranges are disjoint, so a
	 * stale hint after an insert or remove costs a bisection, never a
	 * wrong answer.
	 */
	if (i < km->n && km->v[i].start <= gaddr &&
	    gaddr < entry_end(&km->v[i])) {
		km->cache_hits++;
	} else {
		i = find(km, gaddr);
		if (i == km->n)
			return -ENOENT;
		km->hint = i;
	}
	e = &km->v[i];
	left = entry_end(e) - gaddr;
	*out = *e;
	*cover = len < left ? len : left;
	if ((e->access & need) != need)
		return -EACCES;
	return 0;
}

/* Take out entries [i, i + 1).  Returns nothing. */
static void erase_at(struct shmx__keymap *km, size_t i)
{
	memmove(&km->v[i], &km->v[i + 1], (km->n - i - 1) * sizeof(*km->v));
	km->n--;
}

int shmx__km_remove(struct shmx__keymap *km, shmx_gaddr_t gaddr,
		    struct shmx__km_entry *old)
{
	size_t i;

	if (!km)
		return -EINVAL;
	i = find(km, gaddr);
	if (i == km->n)
		return -ENOENT;
	if (old)
		*old = km->v[i];
	erase_at(km, i);
	return 0;
}

int shmx__km_remove_object(struct shmx__keymap *km, uint32_t kind, uint64_t id)
{
	size_t r, w = 0;

	if (!km)
		return -EINVAL;
	for (r = 0; r < km->n; r++) {
		const struct shmx__km_entry *e = &km->v[r];

		if (e->kind == kind && e->id == id)
			continue;
		if (w != r)
			km->v[w] = *e;
		w++;
	}
	if (w == km->n)
		return -ENOENT;
	km->n = w;
	return 0;
}

int shmx__km_remove_range(struct shmx__keymap *km, shmx_gaddr_t start,
			  uint64_t len)
{
	size_t r, w = 0;

	if (!km || !len || len > UINT64_MAX - start)
		return -EINVAL;
	for (r = 0; r < km->n; r++) {
		const struct shmx__km_entry *e = &km->v[r];

		/* Overlaps [start, start + len): the whole entry goes. */
		if (e->start < start + len && entry_end(e) > start)
			continue;
		if (w != r)
			km->v[w] = *e;
		w++;
	}
	if (w == km->n)
		return -ENOENT;
	km->n = w;
	return 0;
}

long shmx__km_check(const struct shmx__keymap *km)
{
	size_t i;

	if (!km || km->n > km->cap || (km->n && !km->v))
		return -EUCLEAN;
	for (i = 0; i < km->n; i++) {
		if (!entry_valid(&km->v[i]))
			return -EUCLEAN;
		if (i && entry_end(&km->v[i - 1]) > km->v[i].start)
			return -EUCLEAN;
	}
	return (long)km->n;
}
