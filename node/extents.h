/* SPDX-License-Identifier: MIT */
/*
 * extents.h - the memory shmnode exports, as a list of extents: extent 0
 * is the region shmnode starts with (--size), each grow adds one at higher
 * global addresses, each its own anonymous mapping.  Extents are kept
 * NODE_EXTENT_GAP apart in the address space, so that an allocator over
 * them never merges two (no object spans two mappings).  A shrink trims
 * memory from the top, dropping extents it empties.
 *
 * With huge pages (--hugepages) an extent is a hugetlb mapping when the
 * system has enough free huge pages, and the grain of every size is the
 * huge page size; otherwise (mode try) an ordinary mapping that asks for
 * transparent huge pages, with a warning that says why.
 *
 * Pure bookkeeping over mmap: no transport, no allocator; server.c keeps
 * the region allocator and the header in step.
 */
#ifndef SHMX_NODE_EXTENTS_H
#define SHMX_NODE_EXTENTS_H

#include <stdint.h>

#include "proto/header.h"

/* Unmapped global addresses between two extents. */
#define NODE_EXTENT_GAP ((uint64_t)2 << 20)
/* Grow and shrink sizes are multiples of this (a page), or of the huge
 * page size with huge pages (node_extents.grain). */
#define NODE_EXTENT_GRAIN ((uint64_t)4096)

/* Huge pages: none, where there are (else ordinary pages), or only. */
enum { NODE_HUGE_NO, NODE_HUGE_TRY, NODE_HUGE_REQUIRE };

struct node_extent {
	uint64_t base; /* global address of its first byte */
	uint64_t len;  /* bytes, a multiple of NODE_EXTENT_GRAIN */
	uint8_t *mem;  /* local mapping */
	int huge;      /* a hugetlb mapping */
};

struct node_extents {
	struct node_extent ext[SHMX_EXTENTS_MAX]; /* by increasing base */
	uint32_t nr;
	uint64_t total;	     /* sum of the lengths */
	uint64_t generation; /* grows with every add and trim */
	int huge_mode;	     /* NODE_HUGE_* */
	uint64_t huge_size;  /* the system's huge page size; 0: none */
	uint64_t grain;	     /* every length is a multiple of it */
	int fd;		     /* the backing file, or -1: anonymous memory */
	uint64_t file_off;   /* where global address 0 is in the file */
};

/*
 * Map extent 0: @size bytes (a multiple of NODE_EXTENT_GRAIN, rounded up
 * to the huge page size with huge pages) at global address 0, with huge
 * pages per @huge_mode.  With a backing file @fd (else -1), every extent
 * is a shared mapping of it: global address g at offset @file_off + g (a
 * multiple of NODE_EXTENT_GRAIN; the file grows as needed, a trim punches
 * a hole), and huge pages are not used (try: a warning; require:
 * -ENOTSUP).  Returns 0, -EINVAL (size 0 or not a multiple), -ENOTSUP
 * (NODE_HUGE_REQUIRE on a system without huge pages, or with @fd) or the
 * -errno of ftruncate or mmap (-ENOMEM: not enough free huge pages, when
 * required).
 */
int extents_init(struct node_extents *x, uint64_t size, int huge_mode, int fd,
		 uint64_t file_off);
/*
 * Reserve the blocks of [@off, @off + @len) of the backing file @fd before
 * it is mapped: a store into a hole the file system has no room for is a
 * SIGBUS in whoever makes it, shmnode itself where the transport writes
 * for its clients (tcp).  A file system without fallocate gets a warning
 * (once) and 0.  0 or -errno (-ENOMEM: no room for it, said in the log as
 * a memory too large to map is).
 */
int extents_reserve(int fd, uint64_t off, uint64_t len);
/* @len rounded up to the grain; 0 when it would wrap. */
uint64_t extents_round(const struct node_extents *x, uint64_t len);
/* Unmap everything.  Harmless on a zeroed struct. */
void extents_fini(struct node_extents *x);

/*
 * The local address of [@gaddr, @gaddr + @len) when one extent holds all
 * of it (@len 0 counts as one byte), else NULL.  O(log extents).
 */
void *extents_ptr(const struct node_extents *x, uint64_t gaddr, uint64_t len);

/*
 * Map a new extent of @len bytes above the last one (NODE_EXTENT_GAP
 * past its end) and store its global address in *@base.  Returns 0;
 * -EINVAL (len 0 or not a multiple of NODE_EXTENT_GRAIN); -ENOSPC
 * (SHMX_EXTENTS_MAX extents already); -EFBIG (the address would
 * pass 2^63); or the -errno of mmap.  On error nothing changes.
 */
int extents_add(struct node_extents *x, uint64_t len, uint64_t *base);

/*
 * The pieces a trim of @len bytes from the top would take: at most
 * SHMX_EXTENTS_MAX (start, len) pairs into @out, from the top down, so
 * that the caller can check each is free before extents_trim().  Extent 0
 * never goes below @floor bytes.  Returns the number of pieces, -EINVAL
 * (len 0 or not a multiple of NODE_EXTENT_GRAIN) or -ENOSPC (less than
 * @len above the floor).
 */
int extents_trim_plan(const struct node_extents *x, uint64_t len,
		      uint64_t floor, struct shmx_extent *out);

/*
 * Take @len bytes off the top, as planned by extents_trim_plan() with the
 * same @floor: an extent trimmed to nothing is unmapped and removed, a
 * partly trimmed one loses the pages of its tail.  Returns 0 or the
 * errors of extents_trim_plan(); on error nothing changes.
 */
int extents_trim(struct node_extents *x, uint64_t len, uint64_t floor);

/* The extent map as the header publishes it (generation, total, extents;
 * the caller fills root, hdr_size and max_members). */
void extents_map(const struct node_extents *x, struct shmx_hdr_map *m);

#endif /* SHMX_NODE_EXTENTS_H */
