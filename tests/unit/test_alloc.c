/* SPDX-License-Identifier: MIT */
/*
 * test_alloc.c - shmnode's memory allocator: argument checks, best fit,
 * alignment up to 1 MiB, exhaustion, coalescing, release errors, listing,
 * growing and shrinking, and long random runs checked against a model (one
 * state byte per 8-byte granule).  The pools live at addresses that are not
 * mapped in this process, so any access to the managed range would crash.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"

/*
 * Metadata allocation failures: the test links with -Wl,--wrap=malloc, so
 * the allocator's malloc() calls come here.  fail_malloc_in = n makes the
 * n-th call from now fail.
 */
void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
static int fail_malloc_in;

void *__wrap_malloc(size_t size)
{
	if (fail_malloc_in > 0 && --fail_malloc_in == 0)
		return NULL;
	return __real_malloc(size);
}

#define G SHMX_ALLOC_GRAIN
#define KIB 1024ull
#define MIB (1024ull * 1024)

/* splitmix64: deterministic, seeded per test. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A uniform value in [0, n); n > 0. */
static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

static void get_stat(const struct shmx__alloc *a, struct shmx__alloc_stat *st)
{
	memset(st, 0xa5, sizeof(*st));
	shmx__alloc_stat(a, st);
}

static void assert_stat(const struct shmx__alloc *a, uint64_t total,
			uint64_t free, uint64_t largest, uint64_t nr_alloc,
			uint64_t nr_free)
{
	struct shmx__alloc_stat st;

	get_stat(a, &st);
	assert_int_equal(st.total, total);
	assert_int_equal(st.free, free);
	assert_int_equal(st.largest_free, largest);
	assert_int_equal(st.nr_alloc, nr_alloc);
	assert_int_equal(st.nr_free_blocks, nr_free);
	assert_int_equal(shmx__alloc_check(a), 0);
}

static void assert_stat_same(const struct shmx__alloc *a,
			     const struct shmx__alloc_stat *before)
{
	struct shmx__alloc_stat st;

	get_stat(a, &st);
	assert_memory_equal(&st, before, sizeof(st));
	assert_int_equal(shmx__alloc_check(a), 0);
}

static void test_init_args(void **state)
{
	struct shmx__alloc a;
	uint64_t off;

	assert_int_equal(shmx__alloc_init(&a, 4, 64), -EINVAL);
	shmx__alloc_fini(&a);
	assert_int_equal(shmx__alloc_init(&a, 0, 60), -EINVAL);
	assert_int_equal(shmx__alloc_init(&a, UINT64_MAX - 63, 64), -EINVAL);
	assert_int_equal(shmx__alloc_init(&a, 3, 0), -EINVAL);
	/* Up to the last granule below 2^64 is fine. */
	assert_int_equal(shmx__alloc_init(&a, UINT64_MAX - 71, 64), 0);
	assert_stat(&a, 64, 64, 64, 0, 1);
	assert_int_equal(shmx__alloc_get(&a, 64, 8, &off), 0);
	assert_int_equal(off, UINT64_MAX - 71);
	assert_int_equal(shmx__alloc_put(&a, off), 0);
	assert_int_equal(shmx__alloc_put(&a, UINT64_MAX), -ENOENT);
	shmx__alloc_fini(&a);

	/* An empty allocator: nothing fits until a range is added. */
	assert_int_equal(shmx__alloc_init(&a, 0, 0), 0);
	assert_stat(&a, 0, 0, 0, 0, 0);
	assert_int_equal(shmx__alloc_get(&a, 8, 8, &off), -ENOMEM);
	assert_int_equal(shmx__alloc_put(&a, 0), -ENOENT);
	assert_int_equal(shmx__alloc_add(&a, 4096, 4096), 0);
	assert_int_equal(shmx__alloc_get(&a, 8, 8, &off), 0);
	assert_int_equal(off, 4096);
	shmx__alloc_fini(&a);
	shmx__alloc_fini(&a); /* harmless twice */
}

static void test_get_args(void **state)
{
	static const uint64_t bad_align[] = {
		0,
		1,
		2,
		4,
		12,
		24,
		48,
		1000,
		SHMX_ALLOC_ALIGN_MAX * 2,
		SHMX_ALLOC_ALIGN_MAX + 8,
		UINT64_MAX,
		1ull << 63,
	};
	struct shmx__alloc a;
	uint64_t off, start, len;

	assert_int_equal(shmx__alloc_init(&a, 1024, 4096), 0);
	assert_int_equal(shmx__alloc_get(&a, 0, 8, &off), -EINVAL);
	for (size_t i = 0; i < sizeof(bad_align) / sizeof(bad_align[0]); i++)
		assert_int_equal(shmx__alloc_get(&a, 8, bad_align[i], &off),
				 -EINVAL);
	assert_int_equal(shmx__alloc_get(&a, UINT64_MAX, 8, &off), -ENOMEM);
	assert_int_equal(shmx__alloc_get(&a, UINT64_MAX - 7, 8, &off), -ENOMEM);
	assert_int_equal(shmx__alloc_get(&a, 4097, 8, &off), -ENOMEM);
	assert_stat(&a, 4096, 4096, 4096, 0, 1);

	/* Sizes round up to the grain. */
	assert_int_equal(shmx__alloc_get(&a, 1, 8, &off), 0);
	assert_int_equal(off, 1024);
	assert_int_equal(shmx__alloc_find(&a, off, &start, &len), 0);
	assert_int_equal(len, 8);
	assert_int_equal(shmx__alloc_get(&a, 9, 8, &off), 0);
	assert_int_equal(off, 1032);
	assert_int_equal(shmx__alloc_find(&a, off, NULL, &len), 0);
	assert_int_equal(len, 16);
	assert_stat(&a, 4096, 4096 - 24, 4096 - 24, 2, 1);
	assert_int_equal(shmx__alloc_put(&a, 1024), 0);
	assert_int_equal(shmx__alloc_put(&a, 1032), 0);

	/* The whole pool in one block, if its start is aligned enough. */
	assert_int_equal(shmx__alloc_get(&a, 4096, 1024, &off), 0);
	assert_int_equal(off, 1024);
	assert_stat(&a, 4096, 0, 0, 1, 0);
	assert_int_equal(shmx__alloc_get(&a, 8, 8, &off), -ENOMEM);
	assert_int_equal(shmx__alloc_put(&a, 1024), 0);
	assert_int_equal(shmx__alloc_get(&a, 4096, 2048, &off), -ENOMEM);
	assert_stat(&a, 4096, 4096, 4096, 0, 1);
	shmx__alloc_fini(&a);
}

/* Allocate @n blocks of @len back to back from the start of @a. */
static void fill(struct shmx__alloc *a, uint64_t *offs, int n, uint64_t len)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(shmx__alloc_get(a, len, 8, &offs[i]), 0);
}

static void test_best_fit(void **state)
{
	/* Holes of 48, 16, 32, 16, 64 bytes separated by 8-byte blocks. */
	static const uint64_t hole[] = { 48, 16, 32, 16, 64 };
	uint64_t offs[10], off, at[5], pos = 0;
	struct shmx__alloc a;

	assert_int_equal(shmx__alloc_init(&a, 0, 216), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(
			shmx__alloc_get(&a, hole[i], 8, &offs[2 * (size_t)i]),
			0);
		at[i] = pos;
		assert_int_equal(offs[2 * (size_t)i], pos);
		assert_int_equal(shmx__alloc_get(&a, 8, 8, &offs[2 * i + 1]),
				 0);
		pos += hole[i] + 8;
	}
	assert_stat(&a, 216, 0, 0, 10, 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(shmx__alloc_put(&a, at[i]), 0);
	assert_stat(&a, 216, 176, 64, 5, 5);

	/* Smallest hole that fits; equal holes go lowest address first. */
	assert_int_equal(shmx__alloc_get(&a, 9, 8, &off), 0);
	assert_int_equal(off, at[1]);
	assert_int_equal(shmx__alloc_get(&a, 16, 8, &off), 0);
	assert_int_equal(off, at[3]);
	assert_int_equal(shmx__alloc_get(&a, 17, 8, &off), 0);
	assert_int_equal(off, at[2]);
	assert_int_equal(shmx__alloc_get(&a, 40, 8, &off), 0);
	assert_int_equal(off, at[0]);
	/* Leftovers stay free: 8 bytes of the first and third holes. */
	assert_stat(&a, 216, 80, 64, 9, 3);
	assert_int_equal(shmx__alloc_get(&a, 8, 8, &off), 0);
	assert_int_equal(off, at[0] + 40);
	assert_int_equal(shmx__alloc_get(&a, 65, 8, &off), -ENOMEM);
	assert_int_equal(shmx__alloc_get(&a, 64, 8, &off), 0);
	assert_int_equal(off, at[4]);
	assert_int_equal(shmx__alloc_get(&a, 1, 8, &off), 0);
	assert_int_equal(off, at[2] + 24);
	assert_stat(&a, 216, 0, 0, 12, 0);
	shmx__alloc_fini(&a);
}

static void test_alignment(void **state)
{
	/* A base that is only 8-aligned, and a pool of 4 MiB + 8. */
	const uint64_t base = (1ull << 36) + 8, size = 4 * MIB + 8;
	uint64_t off, small, start, len;
	struct shmx__alloc a;

	assert_int_equal(shmx__alloc_init(&a, base, size), 0);
	for (uint64_t align = 8; align <= SHMX_ALLOC_ALIGN_MAX; align <<= 1) {
		for (uint64_t sz = 1; sz <= 3 * align; sz += align) {
			assert_int_equal(shmx__alloc_get(&a, sz, align, &off),
					 0);
			assert_int_equal(off % align, 0);
			/* The padding before it stays free. */
			assert_int_equal(off - base,
					 (align - base % align) % align);
			assert_int_equal(
				shmx__alloc_find(&a, off, &start, &len), 0);
			assert_int_equal(start, off);
			assert_int_equal(len, (sz + 7) & ~7ull);
			assert_stat(&a, size, size - len,
				    size - len - (off - base), 1,
				    off == base ? 1 : 2);
			assert_int_equal(shmx__alloc_put(&a, off), 0);
			assert_stat(&a, size, size, size, 0, 1);
		}
	}

	/* Many aligned blocks at once, then everything back. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(shmx__alloc_get(&a, 8, MIB, &off), 0);
		assert_int_equal(off % MIB, 0);
		assert_int_equal(shmx__alloc_get(&a, 24, 8, &small), 0);
	}
	assert_int_equal(shmx__alloc_get(&a, MIB, MIB, &off), -ENOMEM);
	assert_int_equal(shmx__alloc_check(&a), 0);
	shmx__alloc_fini(&a);

	/*
	 * More than SHMX_ALLOC_PROBES small holes that cannot hold an aligned
	 * block, and one big block that can: the request goes to the big one.
	 */
	assert_int_equal(shmx__alloc_init(&a, 8, 64 * KIB), 0);
	for (int i = 0; i < 2 * SHMX_ALLOC_PROBES; i++) {
		/* 64-byte holes below 4096, none of them 4096-aligned. */
		assert_int_equal(shmx__alloc_get(&a, 64, 8, &off), 0);
		assert_int_equal(off, 8 + 72 * (uint64_t)i);
		assert_int_equal(shmx__alloc_get(&a, 8, 8, &small), 0);
	}
	for (int i = 0; i < 2 * SHMX_ALLOC_PROBES; i++)
		assert_int_equal(shmx__alloc_put(&a, 8 + 72 * (uint64_t)i), 0);
	assert_int_equal(shmx__alloc_get(&a, 64, 4096, &off), 0);
	assert_int_equal(off, 4096);
	assert_stat(&a, 64 * KIB, 64 * KIB - G * 2 * SHMX_ALLOC_PROBES - 64,
		    60 * KIB - 56, 2 * SHMX_ALLOC_PROBES + 1,
		    2 * SHMX_ALLOC_PROBES + 2);
	shmx__alloc_fini(&a);
}

static void test_exhaustion(void **state)
{
	enum { N = 512 };
	uint64_t offs[N], off;
	struct shmx__alloc a;

	assert_int_equal(shmx__alloc_init(&a, 64, N * 64ull), 0);
	fill(&a, offs, N, 64);
	assert_int_equal(shmx__alloc_get(&a, 8, 8, &off), -ENOMEM);
	assert_stat(&a, N * 64ull, 0, 0, N, 0);
	assert_int_equal(offs[100], 64 + 100 * 64);
	assert_int_equal(shmx__alloc_put(&a, offs[100]), 0);
	assert_int_equal(shmx__alloc_get(&a, 72, 8, &off), -ENOMEM);
	/* The only hole starts at an odd multiple of 64. */
	assert_int_equal(shmx__alloc_get(&a, 64, 128, &off), -ENOMEM);
	assert_stat(&a, N * 64ull, 64, 64, N - 1, 1);
	assert_int_equal(shmx__alloc_get(&a, 64, 64, &off), 0);
	assert_int_equal(off, offs[100]);
	assert_int_equal(shmx__alloc_get(&a, 8, 8, &off), -ENOMEM);
	/* Two neighbours released make room for one block of both. */
	assert_int_equal(shmx__alloc_put(&a, offs[7]), 0);
	assert_int_equal(shmx__alloc_put(&a, offs[8]), 0);
	assert_stat(&a, N * 64ull, 128, 128, N - 2, 1);
	assert_int_equal(shmx__alloc_get(&a, 128, 8, &off), 0);
	assert_int_equal(off, offs[7]);
	assert_stat(&a, N * 64ull, 0, 0, N - 1, 0);
	shmx__alloc_fini(&a);
}

/* Fisher-Yates with the test PRNG. */
static void shuffle(uint64_t *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd_below(i);
		uint64_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void test_coalescing(void **state)
{
	static const uint64_t seeds[] = { 1, 2, 3, 0xdeadbeef };
	const uint64_t base = 0x40000000, size = 256 * KIB;
	size_t cap = size / G, n;
	uint64_t *offs = calloc(cap, sizeof(*offs)), off;
	struct shmx__alloc a;

	assert_non_null(offs);
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		rnd_state = seeds[s];
		assert_int_equal(shmx__alloc_init(&a, base, size), 0);
		/* Everything, in pieces of 8 to 256 bytes, then the rest. */
		n = 0;
		while (shmx__alloc_get(&a, G * (1 + rnd_below(32)), 8, &off) ==
		       0) {
			offs[n++] = off;
			assert_int_equal(shmx__alloc_find(&a, off, NULL, NULL),
					 0);
		}
		while (shmx__alloc_get(&a, G, 8, &off) == 0)
			offs[n++] = off;
		assert_stat(&a, size, 0, 0, n, 0);
		shuffle(offs, n);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(shmx__alloc_put(&a, offs[i]), 0);
			if (i % 1024 == 0)
				assert_int_equal(shmx__alloc_check(&a), 0);
		}
		assert_stat(&a, size, size, size, 0, 1);
		assert_int_equal(shmx__alloc_get(&a, size, 8, &off), 0);
		assert_int_equal(off, base);
		shmx__alloc_fini(&a);
	}
	free(offs);
}

static void test_release_errors(void **state)
{
	const uint64_t base = 0x10000, size = 64 * KIB;
	uint64_t a1, a2, a3;
	struct shmx__alloc a;
	struct shmx__alloc_stat before;

	assert_int_equal(shmx__alloc_init(&a, base, size), 0);
	assert_int_equal(shmx__alloc_get(&a, 100, 8, &a1), 0);
	assert_int_equal(shmx__alloc_get(&a, 256, 64, &a2), 0);
	assert_int_equal(shmx__alloc_get(&a, 8, 8, &a3), 0);
	assert_int_equal(shmx__alloc_put(&a, a3), 0);
	get_stat(&a, &before);

	/* Never allocated: free space, outside the pool, both ends. */
	assert_int_equal(shmx__alloc_put(&a, base + size - 64), -ENOENT);
	assert_int_equal(shmx__alloc_put(&a, base - 8), -ENOENT);
	assert_int_equal(shmx__alloc_put(&a, 0), -ENOENT);
	assert_int_equal(shmx__alloc_put(&a, base + size), -ENOENT);
	assert_int_equal(shmx__alloc_put(&a, UINT64_MAX), -ENOENT);
	/* Already released. */
	assert_int_equal(shmx__alloc_put(&a, a3), -ENOENT);
	/* Inside an allocated block: its last byte, an odd address. */
	assert_int_equal(shmx__alloc_put(&a, a1 + 8), -EINVAL);
	assert_int_equal(shmx__alloc_put(&a, a1 + 1), -EINVAL);
	assert_int_equal(shmx__alloc_put(&a, a1 + 103), -EINVAL);
	assert_int_equal(shmx__alloc_put(&a, a2 + 255), -EINVAL);
	/* Just past a block (its rounded length is 104): the free padding
	 * in front of the 64-aligned one. */
	assert_int_equal(a2, a1 + 128);
	assert_int_equal(shmx__alloc_put(&a, a1 + 104), -ENOENT);
	assert_stat_same(&a, &before);

	/* The real releases work, then the same addresses are gone. */
	assert_int_equal(shmx__alloc_put(&a, a1), 0);
	assert_int_equal(shmx__alloc_put(&a, a2), 0);
	get_stat(&a, &before);
	assert_int_equal(shmx__alloc_put(&a, a1), -ENOENT);
	assert_int_equal(shmx__alloc_put(&a, a2), -ENOENT);
	assert_int_equal(shmx__alloc_put(&a, a2 + 8), -ENOENT);
	assert_stat_same(&a, &before);
	assert_stat(&a, size, size, size, 0, 1);
	shmx__alloc_fini(&a);
}

struct listing {
	uint64_t start[8];
	uint64_t len[8];
	int n;
	int stop_at;
};

static int collect(void *arg, uint64_t start, uint64_t len)
{
	struct listing *l = arg;

	l->start[l->n] = start;
	l->len[l->n] = len;
	return ++l->n == l->stop_at ? 42 : 0;
}

static void test_find_and_list(void **state)
{
	static const uint64_t sizes[] = { 40, 8, 1000, 64, 24 };
	uint64_t offs[5], start, len, from, want[4];
	struct listing l = { .stop_at = -1 };
	struct shmx__alloc a;
	int n;

	assert_int_equal(shmx__alloc_init(&a, 800, 8 * KIB), 0);
	assert_int_equal(shmx__alloc_foreach(&a, collect, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(shmx__alloc_next(&a, 0, &start, &len), -ENOENT);
	for (int i = 0; i < 5; i++)
		assert_int_equal(shmx__alloc_get(&a, sizes[i], 8, &offs[i]), 0);
	assert_int_equal(shmx__alloc_put(&a, offs[1]), 0);

	assert_int_equal(shmx__alloc_find(&a, offs[2] + 999, &start, &len), 0);
	assert_int_equal(start, offs[2]);
	assert_int_equal(len, 1000);
	assert_int_equal(shmx__alloc_find(&a, offs[2] + 1000, &start, &len), 0);
	assert_int_equal(start, offs[3]);
	assert_int_equal(shmx__alloc_find(&a, offs[1], &start, &len), -ENOENT);
	assert_int_equal(shmx__alloc_find(&a, offs[4] + 24, NULL, NULL),
			 -ENOENT);
	assert_int_equal(shmx__alloc_find(&a, 799, NULL, NULL), -ENOENT);

	assert_int_equal(shmx__alloc_foreach(&a, collect, &l), 0);
	assert_int_equal(l.n, 4);
	for (int i = 0, j = 0; i < 5; i++) {
		if (i == 1)
			continue;
		assert_int_equal(l.start[j], offs[i]);
		assert_int_equal(l.len[j], sizes[i]);
		j++;
	}
	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	assert_int_equal(shmx__alloc_foreach(&a, collect, &l), 42);
	assert_int_equal(l.n, 2);

	/* Paging with next(): the same four blocks. */
	want[0] = offs[0];
	want[1] = offs[2];
	want[2] = offs[3];
	want[3] = offs[4];
	n = 0;
	for (from = 0; shmx__alloc_next(&a, from, &start, &len) == 0;
	     from = start + 1) {
		assert_true(n < 4);
		assert_int_equal(start, want[n]);
		n++;
	}
	assert_int_equal(n, 4);
	assert_int_equal(shmx__alloc_next(&a, offs[0] + 1, &start, NULL), 0);
	assert_int_equal(start, offs[2]);
	shmx__alloc_fini(&a);
}

/* shmx__alloc_take: exactly the range asked for, or an error and no change. */
static void test_take(void **state)
{
	const uint64_t base = 0x10000, size = 4 * KIB;
	struct shmx__alloc a;
	uint64_t start, len, off;

	(void)state;
	assert_int_equal(shmx__alloc_init(&a, base, size), 0);
	assert_int_equal(shmx__alloc_take(&a, base + 4, 8), -EINVAL);
	assert_int_equal(shmx__alloc_take(&a, base, 0), -EINVAL);
	assert_int_equal(shmx__alloc_take(&a, base - 8, 16), -ENOENT);
	assert_int_equal(shmx__alloc_take(&a, base + size - 8, 16), -ENOENT);
	/* In the middle: free space stays on both sides. */
	assert_int_equal(shmx__alloc_take(&a, base + 1024, 512), 0);
	assert_stat(&a, size, size - 512, 2560, 1, 2);
	assert_int_equal(shmx__alloc_find(&a, base + 1100, &start, &len), 0);
	assert_int_equal(start, base + 1024);
	assert_int_equal(len, 512);
	/* Overlapping a block, or not all free. */
	assert_int_equal(shmx__alloc_take(&a, base + 1024 + 504, 16), -EBUSY);
	assert_int_equal(shmx__alloc_take(&a, base + 1000, 32), -EBUSY);
	/* At the edges, then everything: the allocator agrees. */
	assert_int_equal(shmx__alloc_take(&a, base, 1024), 0);
	assert_int_equal(shmx__alloc_take(&a, base + 1536, size - 1536), 0);
	assert_stat(&a, size, 0, 0, 3, 0);
	assert_int_equal(shmx__alloc_get(&a, 8, 8, &off), -ENOMEM);
	/* Taken blocks are released like any other. */
	assert_int_equal(shmx__alloc_put(&a, base + 1024), 0);
	assert_int_equal(shmx__alloc_get(&a, 512, 8, &off), 0);
	assert_int_equal(off, base + 1024);
	shmx__alloc_fini(&a);
}

static void test_add_remove(void **state)
{
	const uint64_t base = 0x100000, size = 64 * KIB;
	uint64_t off, span, pad;
	struct shmx__alloc a;
	struct shmx__alloc_stat before;

	assert_int_equal(shmx__alloc_init(&a, base, size), 0);
	/* Bad ranges. */
	assert_int_equal(shmx__alloc_add(&a, base + size, 0), -EINVAL);
	assert_int_equal(shmx__alloc_add(&a, base + size + 4, 64), -EINVAL);
	assert_int_equal(shmx__alloc_add(&a, base + size, 60), -EINVAL);
	assert_int_equal(shmx__alloc_add(&a, UINT64_MAX - 63, 64), -EINVAL);
	assert_int_equal(shmx__alloc_remove(&a, base, 0), -EINVAL);
	assert_int_equal(shmx__alloc_remove(&a, base + 4, 8), -EINVAL);
	/* Overlap with managed space, free or not. */
	assert_int_equal(shmx__alloc_add(&a, base, 8), -EEXIST);
	assert_int_equal(shmx__alloc_add(&a, base - 8, 16), -EEXIST);
	assert_int_equal(shmx__alloc_add(&a, base + size - 8, 16), -EEXIST);
	assert_int_equal(shmx__alloc_add(&a, 0, UINT64_MAX - 7), -EEXIST);
	assert_stat(&a, size, size, size, 0, 1);

	/* Adjacent after and before: one free block. */
	assert_int_equal(shmx__alloc_add(&a, base + size, size), 0);
	assert_stat(&a, 2 * size, 2 * size, 2 * size, 0, 1);
	assert_int_equal(shmx__alloc_add(&a, base - 4096, 4096), 0);
	assert_stat(&a, 2 * size + 4096, 2 * size + 4096, 2 * size + 4096, 0,
		    1);
	/* A gap makes a second free block; filling the gap joins all. */
	assert_int_equal(shmx__alloc_add(&a, base + 3 * size, size), 0);
	assert_stat(&a, 3 * size + 4096, 3 * size + 4096, 2 * size + 4096, 0,
		    2);
	assert_int_equal(shmx__alloc_add(&a, base + 2 * size, size), 0);
	assert_stat(&a, 4 * size + 4096, 4 * size + 4096, 4 * size + 4096, 0,
		    1);
	/* Growth joined with the original: one block may span ranges. */
	assert_int_equal(shmx__alloc_get(&a, 4 * size + 4096, 8, &span), 0);
	assert_int_equal(span, base - 4096);
	assert_int_equal(shmx__alloc_put(&a, span), 0);

	/* Shrink: refused while anything in the range is allocated. */
	assert_int_equal(shmx__alloc_get(&a, 64, 8, &off), 0);
	assert_int_equal(off, base - 4096);
	get_stat(&a, &before);
	assert_int_equal(shmx__alloc_remove(&a, base - 4096, 4096), -EBUSY);
	assert_int_equal(shmx__alloc_remove(&a, off + 56, 8), -EBUSY);
	assert_int_equal(shmx__alloc_remove(&a, base - 8192, 8192), -EBUSY);
	/* Partly outside the pool, nothing allocated there. */
	assert_int_equal(shmx__alloc_remove(&a, base + 4 * size - 8, 16),
			 -ENOENT);
	assert_int_equal(shmx__alloc_remove(&a, base - 8192, 4096), -ENOENT);
	assert_stat_same(&a, &before);
	assert_int_equal(shmx__alloc_put(&a, off), 0);
	assert_int_equal(shmx__alloc_remove(&a, base - 4096, 4096), 0);
	assert_stat(&a, 4 * size, 4 * size, 4 * size, 0, 1);
	assert_int_equal(shmx__alloc_remove(&a, base - 4096, 8), -ENOENT);

	/* Tail and a hole in the middle. */
	assert_int_equal(shmx__alloc_remove(&a, base + 3 * size, size), 0);
	assert_stat(&a, 3 * size, 3 * size, 3 * size, 0, 1);
	assert_int_equal(shmx__alloc_remove(&a, base + size, 4096), 0);
	assert_stat(&a, 3 * size - 4096, 3 * size - 4096, 2 * size - 4096, 0,
		    2);
	/* No block spans the hole now. */
	assert_int_equal(shmx__alloc_get(&a, 2 * size, 8, &off), -ENOMEM);
	assert_int_equal(shmx__alloc_get(&a, size, 8, &off), 0);
	assert_int_equal(off, base);
	/* Fill the hole back in: the free space after it joins up. */
	assert_int_equal(shmx__alloc_add(&a, base + size, 4096), 0);
	assert_stat(&a, 3 * size, 2 * size, 2 * size, 1, 1);
	/* Shrink an allocator down to nothing and grow it again. */
	assert_int_equal(shmx__alloc_remove(&a, base + size, 2 * size), 0);
	assert_int_equal(shmx__alloc_put(&a, off), 0);
	assert_int_equal(shmx__alloc_remove(&a, base, size), 0);
	assert_stat(&a, 0, 0, 0, 0, 0);
	assert_int_equal(shmx__alloc_get(&a, 8, 8, &off), -ENOMEM);
	pad = 1ull << 40;
	assert_int_equal(shmx__alloc_add(&a, pad, MIB), 0);
	assert_int_equal(shmx__alloc_get(&a, MIB, MIB, &off), 0);
	assert_int_equal(off, pad);
	assert_stat(&a, MIB, 0, 0, 1, 0);
	shmx__alloc_fini(&a);
}

/* Each metadata allocation that can fail leaves everything as it was. */
static void test_metadata_enomem(void **state)
{
	const uint64_t base = 4096, size = 64 * KIB;
	uint64_t off, keep;
	struct shmx__alloc a;
	struct shmx__alloc_stat before;

	fail_malloc_in = 1;
	assert_int_equal(shmx__alloc_init(&a, base, size), -ENOMEM);
	assert_stat(&a, 0, 0, 0, 0, 0);
	shmx__alloc_fini(&a);
	assert_int_equal(shmx__alloc_init(&a, base, size), 0);
	assert_int_equal(shmx__alloc_get(&a, 8, 8, &keep), 0);

	/* A block cut from the middle of a free one needs two records. */
	for (int n = 1; n <= 2; n++) {
		get_stat(&a, &before);
		fail_malloc_in = n;
		assert_int_equal(shmx__alloc_get(&a, 64, 1024, &off), -ENOMEM);
		assert_int_equal(fail_malloc_in, 0);
		assert_stat_same(&a, &before);
	}
	assert_int_equal(shmx__alloc_get(&a, 64, 1024, &off), 0);
	assert_int_equal(off, base + 1024);
	/* Release needs none, even with every malloc failing. */
	fail_malloc_in = 1;
	assert_int_equal(shmx__alloc_put(&a, off), 0);
	assert_int_equal(shmx__alloc_put(&a, keep), 0);
	assert_int_equal(fail_malloc_in, 1);
	fail_malloc_in = 0;
	get_stat(&a, &before);
	/* Growing needs one; shrinking from the middle needs one. */
	fail_malloc_in = 1;
	assert_int_equal(shmx__alloc_add(&a, base + size, 4096), -ENOMEM);
	assert_stat_same(&a, &before);
	fail_malloc_in = 1;
	assert_int_equal(shmx__alloc_remove(&a, base + 4096, 4096), -ENOMEM);
	assert_stat_same(&a, &before);
	/* Shrinking from an end needs none. */
	fail_malloc_in = 1;
	assert_int_equal(shmx__alloc_remove(&a, base + size - 4096, 4096), 0);
	assert_int_equal(shmx__alloc_remove(&a, base, 4096), 0);
	fail_malloc_in = 0;
	assert_stat(&a, size - 8192, size - 8192, size - 8192, 0, 1);
	shmx__alloc_fini(&a);
}

/* The consistency check notices broken counters and a broken tree. */
static void test_check_detects(void **state)
{
	struct shmx__alloc a;
	uint64_t off;
	struct shmx__rb_node *n;

	assert_int_equal(shmx__alloc_init(&a, 0, 4096), 0);
	assert_int_equal(shmx__alloc_get(&a, 64, 8, &off), 0);
	assert_int_equal(shmx__alloc_get(&a, 64, 8, &off), 0);
	assert_int_equal(shmx__alloc_put(&a, 0), 0);
	assert_int_equal(shmx__alloc_check(&a), 0);
	a.free += 8;
	assert_int_equal(shmx__alloc_check(&a), -EUCLEAN);
	a.free -= 8;
	a.total -= 8;
	assert_int_equal(shmx__alloc_check(&a), -EUCLEAN);
	a.total += 8;
	a.nr_used++;
	assert_int_equal(shmx__alloc_check(&a), -EUCLEAN);
	a.nr_used--;
	n = a.free_by_addr.node;
	n->red = !n->red;
	assert_int_equal(shmx__alloc_check(&a), -EUCLEAN);
	n->red = !n->red;
	assert_int_equal(shmx__alloc_check(&a), 0);
	shmx__alloc_fini(&a);
}

/*
 * The model: one state byte per granule of [base, base + n * G), and for
 * allocated granules the first granule of their block.
 */
enum { M_NONE, M_FREE, M_USED };

struct model {
	uint64_t base;
	size_t n;
	uint8_t *state;
	uint32_t *head;
	uint64_t *live; /* starts of allocated blocks, unordered */
	size_t nlive;
};

static void model_init(struct model *m, uint64_t base, size_t n)
{
	m->base = base;
	m->n = n;
	m->state = calloc(n, 1);
	m->head = calloc(n, sizeof(*m->head));
	m->live = calloc(n, sizeof(*m->live));
	m->nlive = 0;
	assert_non_null(m->state);
	assert_non_null(m->head);
	assert_non_null(m->live);
}

static void model_fini(struct model *m)
{
	free(m->state);
	free(m->head);
	free(m->live);
}

static void model_stat(const struct model *m, struct shmx__alloc_stat *st)
{
	uint64_t run = 0;

	memset(st, 0, sizeof(*st));
	for (size_t g = 0; g < m->n; g++) {
		st->total += m->state[g] != M_NONE;
		if (m->state[g] == M_FREE) {
			st->free++;
			st->nr_free_blocks += !run;
			run++;
			if (run > st->largest_free)
				st->largest_free = run;
		} else {
			run = 0;
		}
	}
	st->total *= G;
	st->free *= G;
	st->largest_free *= G;
	st->nr_alloc = m->nlive;
}

/* The first granule of the first free run of >= @len granules of the
 * smallest such length, or -1 when there is none. */
static long model_best_fit(const struct model *m, size_t len)
{
	size_t best_len = SIZE_MAX, run = 0;
	long best = -1;

	for (size_t g = 0; g <= m->n; g++) {
		if (g < m->n && m->state[g] == M_FREE) {
			run++;
			continue;
		}
		if (run >= len && run < best_len) {
			best_len = run;
			best = (long)(g - run);
		}
		run = 0;
	}
	return best;
}

/* The length in granules of the longest free run. */
static size_t model_largest(const struct model *m)
{
	size_t best = 0, run = 0;

	for (size_t g = 0; g < m->n; g++) {
		run = m->state[g] == M_FREE ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

/* How many granules of [g, g + c) are in @state. */
static size_t model_count(const struct model *m, size_t g, size_t c, int state)
{
	size_t k = 0;

	for (size_t i = g; i < g + c; i++)
		k += m->state[i] == state;
	return k;
}

static void model_compare(const struct shmx__alloc *a, const struct model *m)
{
	struct shmx__alloc_stat want, got;

	model_stat(m, &want);
	get_stat(a, &got);
	assert_int_equal(got.total, want.total);
	assert_int_equal(got.free, want.free);
	assert_int_equal(got.largest_free, want.largest_free);
	assert_int_equal(got.nr_alloc, want.nr_alloc);
	assert_int_equal(got.nr_free_blocks, want.nr_free_blocks);
	assert_int_equal(shmx__alloc_check(a), 0);
}

struct listed {
	const struct model *m;
	uint64_t last_end;
	size_t n;
};

/* foreach callback: each block is where the model has it, in order. */
static int check_listed(void *arg, uint64_t start, uint64_t len)
{
	struct listed *l = arg;
	const struct model *m = l->m;
	size_t g = (start - m->base) / G;

	assert_true(start >= l->last_end);
	assert_true(start >= m->base && g < m->n);
	assert_int_equal(m->state[g], M_USED);
	for (size_t i = g; i < g + len / G; i++) {
		assert_int_equal(m->state[i], M_USED);
		assert_int_equal(m->head[i], g);
	}
	assert_true(g + len / G == m->n || m->state[g + len / G] != M_USED ||
		    m->head[g + len / G] != g);
	l->last_end = start + len;
	l->n++;
	return 0;
}

struct run_cfg {
	uint64_t seed;
	uint64_t base;
	size_t init_granules; /* managed at the start */
	size_t max_granules;  /* extent the model covers (grow room) */
	int ops;
	int max_align_log;
	int grow_shrink;   /* also add and remove ranges */
	int check_every;   /* full model comparison period */
	int exact_checks;  /* best-fit placement and -ENOMEM on every op */
	uint64_t max_size; /* upper bound of the occasional large request */
};

static void run_alloc(struct shmx__alloc *a, struct model *m,
		      const struct run_cfg *c)
{
	uint64_t size, align = G, off, len, start;
	size_t rg, g;
	long want = -1;
	int ret;

	switch (rnd_below(8)) {
	case 0:
	case 1:
	case 2:
	case 3:
		size = 1 + rnd_below(128);
		break;
	case 4:
	case 5:
		size = 1 + rnd_below(2048);
		break;
	case 6:
		size = G * (1 + rnd_below(4));
		break;
	default:
		size = 1 + rnd_below(c->max_size);
		break;
	}
	if (rnd_below(4) == 0)
		align = G << rnd_below(c->max_align_log - 2);
	rg = (size + G - 1) / G;
	if (c->exact_checks && align == G)
		want = model_best_fit(m, rg);
	ret = shmx__alloc_get(a, size, align, &off);
	if (ret) {
		assert_int_equal(ret, -ENOMEM);
		if (c->exact_checks) {
			/* Exact for the grain; the documented bound else. */
			assert_true(model_largest(m) < rg + (align - G) / G);
		}
		return;
	}
	assert_int_equal(off % align, 0);
	assert_true(off >= m->base);
	g = (off - m->base) / G;
	assert_true(g + rg <= m->n);
	if (c->exact_checks && align == G)
		assert_int_equal(g, want);
	assert_int_equal(model_count(m, g, rg, M_FREE), rg);
	for (size_t i = g; i < g + rg; i++) {
		m->state[i] = M_USED;
		m->head[i] = g;
	}
	m->live[m->nlive++] = off;
	assert_int_equal(shmx__alloc_find(a, off + rg * G - 1, &start, &len),
			 0);
	assert_int_equal(start, off);
	assert_int_equal(len, rg * G);
}

/* Release the model's block at @idx of live[] (the allocator did). */
static void model_release(struct model *m, size_t idx)
{
	size_t g = (m->live[idx] - m->base) / G;

	for (size_t i = g; i < m->n && m->state[i] == M_USED && m->head[i] == g;
	     i++)
		m->state[i] = M_FREE;
	m->live[idx] = m->live[--m->nlive];
}

static void run_release(struct shmx__alloc *a, struct model *m)
{
	size_t idx;

	if (!m->nlive)
		return;
	idx = rnd_below(m->nlive);
	assert_int_equal(shmx__alloc_put(a, m->live[idx]), 0);
	model_release(m, idx);
}

/* A release of a random address, with the errno the model predicts. */
static void run_bad_release(struct shmx__alloc *a, struct model *m)
{
	uint64_t span = m->n * G + 128, addr = m->base - 64 + rnd_below(span);
	struct shmx__alloc_stat before;
	size_t g;
	int want = -ENOENT;

	if (rnd_below(4))
		addr &= ~(uint64_t)(G - 1);
	if (addr >= m->base && addr < m->base + m->n * G) {
		g = (addr - m->base) / G;
		if (m->state[g] == M_USED)
			want = m->base + (uint64_t)m->head[g] * G == addr
				       ? 0
				       : -EINVAL;
	}
	get_stat(a, &before);
	assert_int_equal(shmx__alloc_put(a, addr), want);
	if (want) {
		assert_int_equal(shmx__alloc_find(a, addr, NULL, NULL),
				 want == -EINVAL ? 0 : -ENOENT);
		assert_stat_same(a, &before);
		return;
	}
	for (size_t i = 0; i < m->nlive; i++) {
		if (m->live[i] == addr) {
			model_release(m, i);
			return;
		}
	}
	fail_msg("released block %#llx not in the model",
		 (unsigned long long)addr);
}

/* Add or remove a range, mostly one that the model says will work. */
static void run_grow_shrink(struct shmx__alloc *a, struct model *m)
{
	int add = rnd_below(2), ret, want;
	size_t g = rnd_below(m->n), c = 1, max = 1 + rnd_below(m->n / 8);
	int like = add ? M_NONE : M_FREE;
	struct shmx__alloc_stat before;

	if (rnd_below(8)) {
		while (g + c < m->n && c < max && m->state[g + c] == like)
			c++;
	} else {
		c = 1 + rnd_below(m->n - g);
	}
	if (add)
		want = model_count(m, g, c, M_NONE) == c ? 0 : -EEXIST;
	else if (model_count(m, g, c, M_USED))
		want = -EBUSY;
	else
		want = model_count(m, g, c, M_NONE) ? -ENOENT : 0;
	get_stat(a, &before);
	if (add)
		ret = shmx__alloc_add(a, m->base + g * G, c * G);
	else
		ret = shmx__alloc_remove(a, m->base + g * G, c * G);
	assert_int_equal(ret, want);
	if (ret) {
		assert_stat_same(a, &before);
		return;
	}
	memset(m->state + g, add ? M_FREE : M_NONE, c);
}

static void run_random(const struct run_cfg *c)
{
	struct shmx__alloc a;
	struct model m;
	struct listed l;
	uint64_t r;

	rnd_state = c->seed;
	model_init(&m, c->base, c->max_granules);
	memset(m.state, M_FREE, c->init_granules);
	assert_int_equal(shmx__alloc_init(&a, c->base, c->init_granules * G),
			 0);
	model_compare(&a, &m);
	for (int op = 1; op <= c->ops; op++) {
		r = rnd_below(100);
		if (r < 52)
			run_alloc(&a, &m, c);
		else if (r < 92)
			run_release(&a, &m);
		else if (r < 96 || !c->grow_shrink)
			run_bad_release(&a, &m);
		else
			run_grow_shrink(&a, &m);
		if (op % c->check_every == 0)
			model_compare(&a, &m);
		if (op % (c->check_every * 64) == 0) {
			l = (struct listed){ .m = &m };
			assert_int_equal(
				shmx__alloc_foreach(&a, check_listed, &l), 0);
			assert_int_equal(l.n, m.nlive);
		}
	}
	/* Release everything: what is managed is free and coalesced. */
	while (m.nlive)
		run_release(&a, &m);
	model_compare(&a, &m);
	shmx__alloc_fini(&a);
	model_fini(&m);
}

static void test_random_small(void **state)
{
	static const uint64_t seeds[] = { 1, 77, 4242 };

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct run_cfg c = {
			.seed = seeds[i],
			.base = 0,
			.init_granules = 4 * KIB / G,
			.max_granules = 4 * KIB / G,
			.ops = 20000,
			.max_align_log = 10,
			.check_every = 1,
			.exact_checks = 1,
			.max_size = 2 * KIB,
		};
		run_random(&c);
	}
}

static void test_random_medium(void **state)
{
	static const uint64_t seeds[] = { 2, 0x5eed, 0xc0ffee };

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct run_cfg c = {
			.seed = seeds[i],
			.base = 0x7000008,
			.init_granules = 64 * KIB / G,
			.max_granules = 64 * KIB / G,
			.ops = 30000,
			.max_align_log = 14,
			.check_every = 1,
			.exact_checks = 1,
			.max_size = 16 * KIB,
		};
		run_random(&c);
	}
}

static void test_random_grow_shrink(void **state)
{
	static const uint64_t seeds[] = { 3, 99, 0xabcdef };

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct run_cfg c = {
			.seed = seeds[i],
			.base = (1ull << 40) + 8,
			.init_granules = 32 * KIB / G,
			.max_granules = 128 * KIB / G,
			.ops = 30000,
			.max_align_log = 16,
			.grow_shrink = 1,
			.check_every = 4,
			.exact_checks = 1,
			.max_size = 32 * KIB,
		};
		run_random(&c);
	}
}

static void test_random_large_align(void **state)
{
	struct run_cfg c = {
		.seed = 0x1b,
		.base = 0x12345678 & ~7ull,
		.init_granules = 8 * MIB / G,
		.max_granules = 8 * MIB / G,
		.ops = 20000,
		.max_align_log = 20,
		.check_every = 500,
		.max_size = 2 * MIB,
	};

	run_random(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_args),
		cmocka_unit_test(test_get_args),
		cmocka_unit_test(test_best_fit),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_coalescing),
		cmocka_unit_test(test_release_errors),
		cmocka_unit_test(test_find_and_list),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_add_remove),
		cmocka_unit_test(test_metadata_enomem),
		cmocka_unit_test(test_check_detects),
		cmocka_unit_test(test_random_small),
		cmocka_unit_test(test_random_medium),
		cmocka_unit_test(test_random_grow_shrink),
		cmocka_unit_test(test_random_large_align),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
