/* SPDX-License-Identifier: MIT */
/*
 * alloc.h - shmnode's memory allocator: hands out contiguous blocks of a
 * pool's address ranges (uint64 offsets) and takes them back.
 *
 * Pure bookkeeping: the allocator never reads or writes the managed memory
 * (clients can write it); all its metadata lives in shmnode's heap, one
 * small record per free or allocated block.  Not thread-safe: the caller
 * serialises calls on one allocator.
 *
 * Units: every size, offset and alignment is in bytes.  Block boundaries are
 * multiples of SHMX_ALLOC_GRAIN (8): requested sizes are rounded up to it,
 * and the ranges given to init/add/remove must be multiples of it.
 *
 * Design: three red-black trees (rbtree.h) over the block records
 *   - free blocks by start address (coalescing with both neighbours),
 *   - free blocks by (length, start) (best fit; ties go to the lower address),
 *   - allocated blocks by start address (release, lookup, listing).
 * Free blocks are always fully coalesced: two free blocks never touch.
 * Ranges added at run time coalesce with free space they touch, so a block
 * may span two ranges that were added separately if they are adjacent.
 *
 * Cost, n = number of blocks (free + allocated): init, get, put, find, next,
 * add, remove and stat are O(log n); foreach is O(n); fini is O(n).
 */
#ifndef SHMX_NODE_ALLOC_H
#define SHMX_NODE_ALLOC_H

#include <stdint.h>

#include "rbtree.h"

/* Granule: block sizes, starts and range bounds are multiples of this. */
#define SHMX_ALLOC_GRAIN ((uint64_t)8)
/* Largest alignment a request may ask for (1 MiB). */
#define SHMX_ALLOC_ALIGN_MAX ((uint64_t)1 << 20)
/*
 * How many best-fit candidates a request with alignment > SHMX_ALLOC_GRAIN
 * tries before it settles for the smallest free block of length
 * >= size + align - SHMX_ALLOC_GRAIN (which always fits).
 */
#define SHMX_ALLOC_PROBES 16

struct shmx__alloc {
	struct shmx__rb_root free_by_addr; /* free blocks by start */
	struct shmx__rb_root free_by_size; /* free blocks by (len, start) */
	struct shmx__rb_root used_by_addr; /* allocated blocks by start */
	uint64_t total;			   /* bytes managed */
	uint64_t free;			   /* bytes in free blocks */
	uint64_t nr_used;		   /* allocated blocks */
	uint64_t nr_free;		   /* free blocks */
};

struct shmx__alloc_stat {
	uint64_t total;		 /* bytes managed (all ranges) */
	uint64_t free;		 /* bytes in free blocks */
	uint64_t largest_free;	 /* length of the largest free block, or 0 */
	uint64_t nr_alloc;	 /* allocated blocks */
	uint64_t nr_free_blocks; /* free blocks (fragments) */
};

/*
 * Start managing [@base, @base + @size), all free.  @size 0 gives an empty
 * allocator that ranges can be added to later.  Returns 0; -EINVAL when
 * @base or @size is not a multiple of SHMX_ALLOC_GRAIN or the range wraps
 * past 2^64; -ENOMEM when metadata cannot be allocated.  On error @a is
 * left empty (shmx__alloc_fini() is harmless on it).
 */
int shmx__alloc_init(struct shmx__alloc *a, uint64_t base, uint64_t size);

/* Forget every block and free all metadata; @a is left empty. */
void shmx__alloc_fini(struct shmx__alloc *a);

/*
 * Allocate a contiguous block of @size bytes (rounded up to a multiple of
 * SHMX_ALLOC_GRAIN) whose start is a multiple of @align, and store its start
 * in *@off.  The block's recorded length (see shmx__alloc_find) is the
 * rounded size.
 *
 * Placement: the smallest free block that can hold the request (best fit,
 * lowest address among equal lengths), at the lowest aligned offset in it.
 * With @align == SHMX_ALLOC_GRAIN this is exact and -ENOMEM means no free
 * block is long enough.  With a larger @align, the SHMX_ALLOC_PROBES
 * smallest blocks of length >= size are tried, then the smallest block of
 * length >= size + align - SHMX_ALLOC_GRAIN; so -ENOMEM may be returned
 * while a block of length in [size, size + align - 8) that was not among the
 * probed ones could have been aligned.  Cost O(log n + SHMX_ALLOC_PROBES).
 *
 * Returns 0; -EINVAL when @size is 0 or @align is not a power of two in
 * [SHMX_ALLOC_GRAIN, SHMX_ALLOC_ALIGN_MAX]; -ENOMEM when nothing fits (or
 * metadata cannot be allocated).  On error nothing changes.
 */
int shmx__alloc_get(struct shmx__alloc *a, uint64_t size, uint64_t align,
		    uint64_t *off);

/*
 * Allocate exactly [@start, @start + @len), which must be free: a block
 * restored from the backing file (persist.c).  Returns 0; -EINVAL as for
 * shmx__alloc_add(); -EBUSY when an allocated block overlaps it; -ENOENT
 * when part of it is not managed or not free; -ENOMEM.  On error nothing
 * changes.
 */
int shmx__alloc_take(struct shmx__alloc *a, uint64_t start, uint64_t len);

/*
 * Release the allocated block that starts at @off, coalescing it with the
 * free blocks on either side.  Returns 0; -ENOENT when no allocated block
 * contains @off (never allocated, already released, in free space or
 * outside the pool: a double release is not told apart from a bad
 * address); -EINVAL when @off is inside an allocated block but not at its
 * start.  On error nothing changes.
 */
int shmx__alloc_put(struct shmx__alloc *a, uint64_t off);

/*
 * The allocated block that contains @addr: its start in *@start and its
 * length in *@len (either may be NULL).  Returns 0, or -ENOENT when @addr
 * is not inside an allocated block.
 */
int shmx__alloc_find(const struct shmx__alloc *a, uint64_t addr,
		     uint64_t *start, uint64_t *len);

/*
 * The allocated block with the smallest start >= @from, for listings in
 * pages (pass the last start + 1 to go on).  Returns 0 with *@start and
 * *@len set (either may be NULL), or -ENOENT when there is none.
 */
int shmx__alloc_next(const struct shmx__alloc *a, uint64_t from,
		     uint64_t *start, uint64_t *len);

/*
 * Call @fn(@arg, start, len) for each allocated block in address order.
 * @fn must not change @a.  Stops at the first nonzero return of @fn.
 * Returns that value, or 0 when every block was visited.
 */
int shmx__alloc_foreach(const struct shmx__alloc *a,
			int (*fn)(void *arg, uint64_t start, uint64_t len),
			void *arg);

/* Fill *@st (see struct shmx__alloc_stat).  Returns nothing. */
void shmx__alloc_stat(const struct shmx__alloc *a, struct shmx__alloc_stat *st);

/*
 * Add [@start, @start + @len) to the managed space, free (memory growth).
 * It coalesces with free blocks it touches.  Returns 0; -EINVAL when @len is
 * 0, @start or @len is not a multiple of SHMX_ALLOC_GRAIN or the range
 * wraps past 2^64; -EEXIST when any byte of it is already managed;
 * -ENOMEM when metadata cannot be allocated.  On error nothing changes.
 */
int shmx__alloc_add(struct shmx__alloc *a, uint64_t start, uint64_t len);

/*
 * Take [@start, @start + @len) out of the managed space (shrink), which is
 * allowed only when every byte of it is free.  Returns 0; -EINVAL as for
 * shmx__alloc_add(); -EBUSY when an allocated block overlaps it; -ENOENT
 * when part of it is not managed (checked after -EBUSY); -ENOMEM when
 * metadata cannot be allocated (splitting a free block in two).  On error
 * nothing changes.
 */
int shmx__alloc_remove(struct shmx__alloc *a, uint64_t start, uint64_t len);

/*
 * Check every invariant (tree shapes and orders, coalescing, counters,
 * totals).  O(n); for tests and debugging.  Returns 0, or -EUCLEAN when
 * something is inconsistent.
 */
int shmx__alloc_check(const struct shmx__alloc *a);

#endif /* SHMX_NODE_ALLOC_H */
