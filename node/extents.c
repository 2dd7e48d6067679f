/* SPDX-License-Identifier: MIT */
/*
 * extents.c - the exported memory as extents: one mapping each (anonymous,
 * of huge pages, or of the backing file, its blocks reserved), added above
 * the last, trimmed from the top (extents.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extents.h"
#include "util/log.h"

/* The system's default huge page size ("Hugepagesize:" in /proc/meminfo),
 * 0 when it has none; how many are free in *@free_pages (may be NULL). */
static uint64_t huge_pages(uint64_t *free_pages)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	uint64_t kb = 0, n;

	if (free_pages)
		*free_pages = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Hugepagesize: %" SCNu64, &n) == 1)
			kb = n;
		else if (free_pages &&
			 sscanf(line, "HugePages_Free: %" SCNu64, &n) == 1)
			*free_pages = n;
	}
	fclose(f);
	return kb * 1024;
}

int extents_reserve(int fd, uint64_t off, uint64_t len)
{
	static int warned;
	int err;

	if (!fallocate(fd, 0, (off_t)off, (off_t)len))
		return 0;
	err = errno;
	if (err == EOPNOTSUPP || err == ENOSYS) {
		if (!warned++)
			log_warn("backing file: its file system cannot reserve "
				 "space (fallocate: %s): should it fill up, "
				 "shmnode dies when it writes there",
				 strerror(err));
		return 0;
	}
	log_error("backing file: cannot reserve %" PRIu64
		  " bytes at offset %#" PRIx64 ": %s",
		  len, off, strerror(err));
	return err == ENOSPC || err == EDQUOT ? -ENOMEM : -err;
}

/*
 * Map [@base, @base + @len) of the backing file (x->fd, where global
 * address 0 is at offset x->file_off), growing the file to hold it, with
 * its blocks reserved (extents_reserve).  The mapping is shared: what
 * clients write is the file's.  0 or -errno.
 */
static int map_file(const struct node_extents *x, uint64_t base, uint64_t len,
		    struct node_extent *e)
{
	uint64_t end = x->file_off + base + len;
	struct stat sb;
	void *p;
	int ret;

	if (fstat(x->fd, &sb))
		return -errno;
	if ((uint64_t)sb.st_size < end && ftruncate(x->fd, (off_t)end))
		return -errno;
	ret = extents_reserve(x->fd, x->file_off + base, len);
	if (ret)
		return ret;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, x->fd,
		 (off_t)(x->file_off + base));
	if (p == MAP_FAILED)
		return -errno;
	e->mem = p;
	e->huge = 0;
	return 0;
}

/* Map @len bytes for global address @base: from the backing file when
 * there is one; else a hugetlb mapping when the mode asks for huge pages
 * and there are enough (else, with NODE_HUGE_TRY, an ordinary one that
 * asks for transparent huge pages, and a warning).  0 or -errno. */
static int map_extent(const struct node_extents *x, uint64_t base, uint64_t len,
		      struct node_extent *e)
{
	uint64_t free_pages;
	void *p;
	int err;

	if (x->fd >= 0)
		return map_file(x, base, len, e);
	e->huge = 0;
	if (x->huge_mode != NODE_HUGE_NO && x->huge_size) {
		/* No MAP_NORESERVE: the pages are reserved now, or mmap
		 * fails (rather than a fault failing later). */
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p != MAP_FAILED) {
			e->mem = p;
			e->huge = 1;
			return 0;
		}
		err = -errno;
		(void)huge_pages(&free_pages);
		if (x->huge_mode == NODE_HUGE_REQUIRE) {
			log_error("huge pages: cannot map %" PRIu64
				  " bytes in pages of %" PRIu64 " kB (%" PRIu64
				  " needed, %" PRIu64
				  " free; see /proc/sys/vm/nr_hugepages): %s",
				  len, x->huge_size / 1024, len / x->huge_size,
				  free_pages, strerror(-err));
			return err;
		}
		log_warn("huge pages: %" PRIu64 " needed, %" PRIu64
			 " free (%s): %" PRIu64
			 " bytes in ordinary pages, transparent huge pages "
			 "asked for",
			 len / x->huge_size, free_pages, strerror(-err), len);
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (x->huge_mode != NODE_HUGE_NO)
		(void)madvise(p, len, MADV_HUGEPAGE);
	e->mem = p;
	return 0;
}

static int grain_ok(const struct node_extents *x, uint64_t len)
{
	return len && !(len % x->grain);
}

uint64_t extents_round(const struct node_extents *x, uint64_t len)
{
	if (len > UINT64_MAX - x->grain)
		return 0;
	return (len + x->grain - 1) / x->grain * x->grain;
}

int extents_init(struct node_extents *x, uint64_t size, int huge_mode, int fd,
		 uint64_t file_off)
{
	int ret;

	memset(x, 0, sizeof(*x));
	x->fd = fd;
	x->file_off = file_off;
	x->grain = NODE_EXTENT_GRAIN;
	if (!grain_ok(x, size) || file_off % NODE_EXTENT_GRAIN)
		return -EINVAL;
	if (fd >= 0 && huge_mode == NODE_HUGE_REQUIRE) {
		log_error("huge pages: not with a backing file (a hugetlbfs "
			  "mount is not supported)");
		return -ENOTSUP;
	}
	if (fd >= 0 && huge_mode == NODE_HUGE_TRY) {
		log_warn("huge pages: not with a backing file; ordinary "
			 "pages");
		huge_mode = NODE_HUGE_NO;
	}
	x->huge_mode = huge_mode;
	if (huge_mode != NODE_HUGE_NO) {
		x->huge_size = huge_pages(NULL);
		if (!x->huge_size && huge_mode == NODE_HUGE_REQUIRE) {
			log_error("huge pages: this system has none "
				  "(no Hugepagesize in /proc/meminfo)");
			return -ENOTSUP;
		}
		if (!x->huge_size)
			log_warn("huge pages: this system has none; ordinary "
				 "pages");
		else
			x->grain = x->huge_size;
		size = extents_round(x, size);
	}
	ret = map_extent(x, 0, size, &x->ext[0]);
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
	x->fd = -1;
}

/* The backing file's bytes of [@base, @base + @len) go (a trim): a later
 * extent there starts zeroed, as an anonymous one does. */
static void punch(const struct node_extents *x, uint64_t base, uint64_t len)
{
	if (x->fd >= 0 &&
	    fallocate(x->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(x->file_off + base), (off_t)len))
		log_warn("backing file: cannot free %" PRIu64
			 " bytes at %#" PRIx64 ": %s",
			 len, base, strerror(errno));
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

	if (!x->nr || !grain_ok(x, len))
		return -EINVAL;
	if (x->nr >= SHMX_EXTENTS_MAX)
		return -ENOSPC;
	last = &x->ext[x->nr - 1];
	b = last->base + last->len + NODE_EXTENT_GAP;
	if (b > ((uint64_t)1 << 63) || len > ((uint64_t)1 << 63) - b)
		return -EFBIG;
	e = &x->ext[x->nr];
	ret = map_extent(x, b, len, e);
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

	if (!grain_ok(x, len))
		return -EINVAL;
	/* The header's floor, rounded up: a piece cut off is a multiple of
	 * the grain (a hugetlb mapping is unmapped in whole pages). */
	floor = extents_round(x, floor);
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

		punch(x, plan[i].base, plan[i].len);
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
