/* SPDX-License-Identifier: MIT */
/*
 * extents.c - the exported memory as extents: one anonymous mapping each,
 * added above the last, trimmed from the top (extents.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "extents.h"

static int map_anon(uint64_t len, uint8_t **mem)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	*mem = p;
	return 0;
}

static int grain_ok(uint64_t len)
{
	return len && !(len % NODE_EXTENT_GRAIN);
}

int extents_init(struct node_extents *x, uint64_t size)
{
	int ret;

	memset(x, 0, sizeof(*x));
	if (!grain_ok(size))
		return -EINVAL;
	ret = map_anon(size, &x->ext[0].mem);
	if (ret)
		return ret;
	x->ext[0].len = size;
	x->nr = 1;
	x->total = size;
	x->generation = 1;
	return 0;
}

void extents_fini(struct node_extents *x)
{
	for (uint32_t i = 0; i < x->nr; i++)
		munmap(x->ext[i].mem, x->ext[i].len);
	memset(x, 0, sizeof(*x));
}

void *extents_ptr(const struct node_extents *x, uint64_t gaddr, uint64_t len)
{
	uint32_t lo = 0, hi = x->nr;

	if (!len)
		len = 1;
	/* The last extent whose base is <= gaddr. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (x->ext[mid].base <= gaddr)
			lo = mid;
		else
			hi = mid;
	}
	if (!x->nr || gaddr < x->ext[lo].base)
		return NULL;
	gaddr -= x->ext[lo].base;
	if (gaddr >= x->ext[lo].len || len > x->ext[lo].len - gaddr)
		return NULL;
	return x->ext[lo].mem + gaddr;
}

int extents_add(struct node_extents *x, uint64_t len, uint64_t *base)
{
	const struct node_extent *last;
	struct node_extent *e;
	uint64_t b;
	int ret;

	if (!grain_ok(len) || !x->nr)
		return -EINVAL;
	if (x->nr >= SHMX_EXTENTS_MAX)
		return -ENOSPC;
	last = &x->ext[x->nr - 1];
	b = last->base + last->len + NODE_EXTENT_GAP;
	if (b > ((uint64_t)1 << 63) || len > ((uint64_t)1 << 63) - b)
		return -EFBIG;
	e = &x->ext[x->nr];
	ret = map_anon(len, &e->mem);
	if (ret)
		return ret;
	e->base = b;
	e->len = len;
	x->nr++;
	x->total += len;
	x->generation++;
	*base = b;
	return 0;
}

int extents_trim_plan(const struct node_extents *x, uint64_t len,
		      uint64_t floor, struct shmx_extent *out)
{
	int n = 0;

	if (!grain_ok(len))
		return -EINVAL;
	for (uint32_t i = x->nr; i-- > 0 && len;) {
		const struct node_extent *e = &x->ext[i];
		uint64_t room = e->len - (i		   ? 0
					  : floor < e->len ? floor
							   : e->len);
		uint64_t take = len < room ? len : room;

		if (!take)
			continue;
		out[n].base = e->base + e->len - take;
		out[n].len = take;
		n++;
		len -= take;
	}
	return len ? -ENOSPC : n;
}

int extents_trim(struct node_extents *x, uint64_t len, uint64_t floor)
{
	struct shmx_extent plan[SHMX_EXTENTS_MAX];
	int n = extents_trim_plan(x, len, floor, plan);

	if (n < 0)
		return n;
	/* Pieces come from the top down: each is the tail of the extent
	 * that is last at that moment. */
	for (int i = 0; i < n; i++) {
		struct node_extent *e = &x->ext[x->nr - 1];

		if (plan[i].len == e->len) {
			munmap(e->mem, e->len);
			memset(e, 0, sizeof(*e));
			x->nr--;
		} else {
			/* Pages of the tail go back to the kernel. */
			munmap(e->mem + e->len - plan[i].len, plan[i].len);
			e->len -= plan[i].len;
		}
		x->total -= plan[i].len;
	}
	x->generation++;
	return 0;
}

void extents_map(const struct node_extents *x, struct shmx_hdr_map *m)
{
	m->generation = x->generation;
	m->total = x->total;
	m->nr_extents = x->nr;
	for (uint32_t i = 0; i < x->nr; i++) {
		m->ext[i].base = x->ext[i].base;
		m->ext[i].len = x->ext[i].len;
	}
}
