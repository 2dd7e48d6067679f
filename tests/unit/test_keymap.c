/* SPDX-License-Identifier: MIT */
/*
 * test_keymap.c - the client's key map (extlayer/keymap.c, compiled in):
 * lookups at the edges of ranges, how much of a transfer one entry covers,
 * overlap replacement (trim, split, cover several, touching edges), rights
 * (-EACCES against -ENOENT), removal by address and by object, the last-hit
 * cache after every kind of change, addresses at the top of the 64-bit
 * space, out-of-memory, and a randomized run against a model that records
 * each granule's owner.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keymap.h"

/*
 * Growth failures: the test links with -Wl,--wrap=realloc, so the map's
 * realloc comes here; fail_realloc_in = n makes the n-th call from now
 * fail.
 */
void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
static int fail_realloc_in;

void *__wrap_realloc(void *ptr, size_t size)
{
	if (fail_realloc_in > 0 && --fail_realloc_in == 0)
		return NULL;
	return __real_realloc(ptr, size);
}

#define RW (SHMX_KM_READ | SHMX_KM_WRITE)

static struct shmx__keymap km;

static int setup(void **state)
{
	shmx__km_init(&km);
	fail_realloc_in = 0;
	return 0;
}

static int teardown(void **state)
{
	shmx__km_clear(&km);
	return 0;
}

/* An entry whose key, epoch and remote base are derived from @key. */
static struct shmx__km_entry ent(uint64_t start, uint64_t len, uint64_t key,
				 uint32_t access)
{
	struct shmx__km_entry e = {
		.start = start,
		.len = len,
		.key = key,
		.rbase = 0x7f0000000000ull + key * 0x100000ull,
		.epoch = key + 1000,
		.access = access,
		.kind = 1,
		.id = key,
	};
	return e;
}

static void add(uint64_t start, uint64_t len, uint64_t key, uint32_t access)
{
	struct shmx__km_entry e = ent(start, len, key, access);

	assert_int_equal(shmx__km_insert(&km, &e), 0);
	assert_true(shmx__km_check(&km) >= 0);
}

/* Look @gaddr up (needing nothing) and expect @key covering @cover bytes. */
static void expect(uint64_t gaddr, uint64_t len, uint64_t key, uint64_t cover)
{
	struct shmx__km_entry e;
	uint64_t c = 0;

	assert_int_equal(shmx__km_lookup(&km, gaddr, len, 0, &e, &c), 0);
	assert_int_equal(e.key, key);
	assert_int_equal(c, cover);
	assert_true(e.start <= gaddr && gaddr - e.start < e.len);
}

static void expect_none(uint64_t gaddr)
{
	struct shmx__km_entry e = { .key = 42 };
	uint64_t c = 42;

	assert_int_equal(shmx__km_lookup(&km, gaddr, 1, 0, &e, &c), -ENOENT);
	assert_int_equal(e.key, 42); /* untouched */
	assert_int_equal(c, 42);
}

/* The entry covering @gaddr, which must exist. */
static struct shmx__km_entry get(uint64_t gaddr)
{
	struct shmx__km_entry e;
	uint64_t c;

	assert_int_equal(shmx__km_lookup(&km, gaddr, 1, 0, &e, &c), 0);
	return e;
}

static void test_basics(void **state)
{
	struct shmx__km_entry in = ent(4096, 8192, 7, SHMX_KM_ALL), out;
	uint64_t c;

	assert_int_equal(shmx__km_count(&km), 0);
	expect_none(0);
	expect_none(4096);
	assert_int_equal(shmx__km_insert(&km, &in), 0);
	assert_int_equal(shmx__km_count(&km), 1);
	assert_int_equal(shmx__km_check(&km), 1);
	assert_int_equal(shmx__km_lookup(&km, 5000, 16, SHMX_KM_ALL, &out, &c),
			 0);
	assert_memory_equal(&out, &in, sizeof(in));
	assert_int_equal(c, 16);
	assert_int_equal(shmx__km_raddr(&out, 5000), in.rbase + 904);
	assert_int_equal(shmx__km_raddr(&out, 4096), in.rbase);

	add(65536, 4096, 8, SHMX_KM_READ);
	add(0, 4096, 9, RW); /* inserted in front of the others */
	assert_int_equal(shmx__km_check(&km), 3);
	expect(0, 1, 9, 1);
	expect(4096, 1, 7, 1);
	expect(65536 + 100, 1, 8, 1);
	expect_none(12288);
	expect_none(65536 + 4096);

	shmx__km_clear(&km);
	assert_int_equal(shmx__km_count(&km), 0);
	expect_none(4096);
	add(4096, 1, 1, SHMX_KM_READ); /* usable after clear */
	expect(4096, 1, 1, 1);
}

static void test_boundaries(void **state)
{
	add(1000, 100, 1, RW);
	expect_none(999);
	expect(1000, 1, 1, 1);	   /* first byte */
	expect(1099, 1, 1, 1);	   /* last byte */
	expect(1099, 50, 1, 1);	   /* last byte, longer transfer */
	expect(1000, 100, 1, 100); /* exactly the entry */
	expect(1000, 101, 1, 100);
	expect_none(1100); /* one past the end */

	/* A one-byte range. */
	add(2000, 1, 2, RW);
	expect_none(1999);
	expect(2000, 10, 2, 1);
	expect_none(2001);

	/* Zero-length lookup: covered, nothing to cover. */
	expect(1050, 0, 1, 0);
}

/*
 * The data path's loop: look up, move *cover bytes, advance.  Records the
 * pieces of [gaddr, gaddr + len) in @keys/@lens and returns how the walk
 * ended (0 when all of it was covered).
 */
static int walk(uint64_t gaddr, uint64_t len, uint32_t need, uint64_t *keys,
		uint64_t *lens, int *n)
{
	*n = 0;
	while (len) {
		struct shmx__km_entry e;
		uint64_t c;
		int ret = shmx__km_lookup(&km, gaddr, len, need, &e, &c);

		if (ret)
			return ret;
		assert_true(c > 0 && c <= len);
		keys[*n] = e.key;
		lens[*n] = c;
		(*n)++;
		gaddr += c;
		len -= c;
	}
	return 0;
}

static void test_coverage(void **state)
{
	uint64_t keys[8] = { 0 }, lens[8] = { 0 };
	int n;

	/* A [100, 200), B [200, 300), gap [300, 400), C [400, 500). */
	add(100, 100, 1, RW);
	add(200, 100, 2, SHMX_KM_READ);
	add(400, 100, 3, RW);

	expect(150, 300, 1, 50); /* crosses into B */
	expect(200, 250, 2, 100);
	expect(250, 10, 2, 10);
	expect(199, 2, 1, 1);
	expect_none(300);
	expect_none(399);
	expect(400, 1000, 3, 100);

	/* Across A and B: two pieces. */
	assert_int_equal(walk(150, 120, 0, keys, lens, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(keys[0], 1);
	assert_int_equal(lens[0], 50);
	assert_int_equal(keys[1], 2);
	assert_int_equal(lens[1], 70);

	/* Across A, B and into the gap: stops at 300 with -ENOENT. */
	assert_int_equal(walk(150, 300, 0, keys, lens, &n), -ENOENT);
	assert_int_equal(n, 2);
	assert_int_equal(lens[0] + lens[1], 150);

	/* Writing across A and B: B is read-only. */
	assert_int_equal(walk(150, 120, SHMX_KM_WRITE, keys, lens, &n),
			 -EACCES);
	assert_int_equal(n, 1);
}

static void test_overlap_split(void **state)
{
	struct shmx__km_entry old = ent(1000, 1000, 1, RW), l, m, r;

	assert_int_equal(shmx__km_insert(&km, &old), 0);
	/* A new range inside the old one: old splits around it. */
	add(1200, 100, 2, SHMX_KM_ALL);
	assert_int_equal(shmx__km_check(&km), 3);
	l = get(1000);
	m = get(1250);
	r = get(1999);
	assert_int_equal(l.start, 1000);
	assert_int_equal(l.len, 200);
	assert_int_equal(l.key, 1);
	assert_int_equal(l.rbase, old.rbase);
	assert_int_equal(m.start, 1200);
	assert_int_equal(m.len, 100);
	assert_int_equal(m.key, 2);
	assert_int_equal(r.start, 1300);
	assert_int_equal(r.len, 700);
	assert_int_equal(r.key, 1);
	assert_int_equal(r.epoch, old.epoch);
	assert_int_equal(r.access, old.access);
	assert_int_equal(r.id, old.id);
	/* The right piece keeps the old remote addresses. */
	assert_int_equal(r.rbase, old.rbase + 300);
	assert_int_equal(shmx__km_raddr(&r, 1500), shmx__km_raddr(&old, 1500));
	expect(1199, 10, 1, 1);
	expect(1299, 10, 2, 1);
	expect(1300, 10, 1, 10);

	/* Same start, shorter: only a right piece is left. */
	add(1300, 50, 3, RW);
	assert_int_equal(shmx__km_check(&km), 4);
	expect(1300, 100, 3, 50);
	expect(1350, 100, 1, 100);
	assert_int_equal(get(1350).rbase, old.rbase + 350);

	/* Same end, shorter: only a left piece is left. */
	add(1900, 100, 4, RW);
	assert_int_equal(shmx__km_check(&km), 5);
	expect(1899, 100, 1, 1);
	assert_int_equal(get(1899).start, 1350);
	expect(1900, 1000, 4, 100);

	/* Exactly the same range: replaced, count unchanged. */
	add(1200, 100, 5, SHMX_KM_READ);
	assert_int_equal(shmx__km_check(&km), 5);
	expect(1200, 100, 5, 100);
}

static void test_overlap_several(void **state)
{
	/* [0,100) 1, [100,200) 2, [250,300) 3, [300,400) 4, [500,600) 5 */
	add(0, 100, 1, RW);
	add(100, 100, 2, RW);
	add(250, 50, 3, RW);
	add(300, 100, 4, RW);
	add(500, 100, 5, RW);

	/* [150, 350): trims 2 and 4, swallows 3. */
	add(150, 200, 6, RW);
	assert_int_equal(shmx__km_check(&km), 5);
	expect(0, 1000, 1, 100);
	expect(100, 1000, 2, 50);
	expect(150, 1000, 6, 200);
	expect(350, 1000, 4, 50);
	assert_int_equal(get(350).rbase, ent(0, 1, 4, RW).rbase + 50);
	expect_none(400);
	expect(500, 1, 5, 1);

	/* Covering everything exactly. */
	add(0, 600, 7, SHMX_KM_READ);
	assert_int_equal(shmx__km_check(&km), 1);
	expect(0, 1000, 7, 600);
	expect(450, 1, 7, 1);

	/* Covering more than everything. */
	add(700, 10, 8, RW);
	add(800, 10, 9, RW);
	add(650, 1000, 10, RW);
	assert_int_equal(shmx__km_check(&km), 2);
	expect(599, 1, 7, 1);
	expect_none(600);
	expect_none(649);
	expect(650, 10000, 10, 1000);
}

static void test_touching(void **state)
{
	add(100, 100, 1, RW);
	add(200, 100, 2, RW); /* starts where 1 ends */
	add(0, 100, 3, RW);   /* ends where 1 starts */
	assert_int_equal(shmx__km_check(&km), 3);
	expect(0, 1000, 3, 100);
	expect(100, 1000, 1, 100);
	expect(200, 1000, 2, 100);
	assert_int_equal(get(100).rbase, ent(0, 1, 1, RW).rbase);
	assert_int_equal(get(200).rbase, ent(0, 1, 2, RW).rbase);

	/* One byte over an edge does overlap. */
	add(199, 2, 4, RW);
	assert_int_equal(shmx__km_check(&km), 4);
	expect(100, 1000, 1, 99);
	expect(199, 1000, 4, 2);
	expect(201, 1000, 2, 99);
}

static void test_access(void **state)
{
	struct shmx__km_entry e = { .key = 42 };
	uint64_t c = 0;

	add(0, 100, 1, SHMX_KM_READ);
	add(100, 100, 2, RW);
	add(200, 100, 3, SHMX_KM_ALL);

	assert_int_equal(shmx__km_lookup(&km, 10, 5, SHMX_KM_READ, &e, &c), 0);
	assert_int_equal(shmx__km_lookup(&km, 10, 5, 0, &e, &c), 0);
	/* Covered, but read-only: -EACCES, and the caller sees the entry. */
	c = 0;
	assert_int_equal(shmx__km_lookup(&km, 10, 500, SHMX_KM_WRITE, &e, &c),
			 -EACCES);
	assert_int_equal(e.key, 1);
	assert_int_equal(e.access, SHMX_KM_READ);
	assert_int_equal(c, 90);
	assert_int_equal(shmx__km_lookup(&km, 10, 5, RW, &e, &c), -EACCES);
	assert_int_equal(shmx__km_lookup(&km, 150, 5, SHMX_KM_ATOMIC, &e, &c),
			 -EACCES);
	assert_int_equal(shmx__km_lookup(&km, 150, 5, RW, &e, &c), 0);
	assert_int_equal(shmx__km_lookup(&km, 250, 5, SHMX_KM_ATOMIC, &e, &c),
			 0);
	/* Not covered: -ENOENT whatever is asked. */
	assert_int_equal(shmx__km_lookup(&km, 300, 5, SHMX_KM_READ, &e, &c),
			 -ENOENT);
	assert_int_equal(shmx__km_lookup(&km, 300, 5, 0, &e, &c), -ENOENT);

	/* A better grant replaces the read-only entry. */
	add(0, 100, 4, RW);
	assert_int_equal(shmx__km_lookup(&km, 10, 5, SHMX_KM_WRITE, &e, &c), 0);
	assert_int_equal(e.key, 4);
}

static void test_remove(void **state)
{
	struct shmx__km_entry old;

	add(0, 100, 1, RW);
	add(100, 100, 2, RW);
	add(300, 100, 3, RW);

	/* By any address inside: the whole entry goes. */
	assert_int_equal(shmx__km_remove(&km, 150, &old), 0);
	assert_int_equal(old.key, 2);
	assert_int_equal(old.start, 100);
	assert_int_equal(old.len, 100);
	assert_int_equal(shmx__km_check(&km), 2);
	expect_none(100);
	expect_none(199);
	expect(99, 10, 1, 1);
	expect(300, 10, 3, 10);
	assert_int_equal(shmx__km_remove(&km, 150, NULL), -ENOENT);
	assert_int_equal(shmx__km_remove(&km, 200, NULL), -ENOENT);
	assert_int_equal(shmx__km_remove(&km, 400, NULL), -ENOENT);
	assert_int_equal(shmx__km_remove(&km, 399, NULL), 0);
	assert_int_equal(shmx__km_remove(&km, 0, NULL), 0);
	assert_int_equal(shmx__km_check(&km), 0);
	assert_int_equal(shmx__km_remove(&km, 0, NULL), -ENOENT);
}

static void test_remove_range(void **state)
{
	add(0, 100, 1, RW);
	add(100, 100, 2, RW);
	add(300, 100, 3, RW);
	add(500, 100, 4, RW);
	/* Touching 100..199 and 300..399: both go whole; ends are open. */
	assert_int_equal(shmx__km_remove_range(&km, 150, 151), 0);
	assert_int_equal(shmx__km_check(&km), 2);
	expect(0, 1, 1, 1);
	expect_none(100);
	expect_none(399);
	expect(500, 1, 4, 1);
	/* A range in a gap, or touching only an end: nothing. */
	assert_int_equal(shmx__km_remove_range(&km, 100, 400), -ENOENT);
	assert_int_equal(shmx__km_check(&km), 2);
	/* Everything. */
	assert_int_equal(shmx__km_remove_range(&km, 0, UINT64_MAX), 0);
	assert_int_equal(shmx__km_check(&km), 0);
	assert_int_equal(shmx__km_remove_range(&km, 0, 0), -EINVAL);
	assert_int_equal(shmx__km_remove_range(&km, 10, UINT64_MAX), -EINVAL);
	assert_int_equal(shmx__km_remove_range(NULL, 0, 1), -EINVAL);
}

static void test_remove_object(void **state)
{
	struct shmx__km_entry e = ent(0, 1000, 1, RW);

	/* Object (1, 77): one range split by another object's grant. */
	e.id = 77;
	assert_int_equal(shmx__km_insert(&km, &e), 0);
	add(400, 100, 2, RW); /* (1, 2) */
	e = ent(2000, 100, 3, RW);
	e.kind = 2; /* same id, other kind: another object */
	e.id = 77;
	assert_int_equal(shmx__km_insert(&km, &e), 0);
	e = ent(3000, 100, 4, RW);
	e.id = 77; /* a second range of (1, 77) */
	assert_int_equal(shmx__km_insert(&km, &e), 0);
	assert_int_equal(shmx__km_check(&km), 5);

	assert_int_equal(shmx__km_remove_object(&km, 1, 77), 0);
	assert_int_equal(shmx__km_check(&km), 2);
	expect_none(0);
	expect_none(999);
	expect_none(3000);
	expect(400, 1, 2, 1);
	expect(2000, 1, 3, 1);
	assert_int_equal(get(2000).kind, 2);
	assert_int_equal(shmx__km_remove_object(&km, 1, 77), -ENOENT);
	assert_int_equal(shmx__km_remove_object(&km, 9, 2), -ENOENT);
	assert_int_equal(shmx__km_remove_object(&km, 1, 2), 0);
	assert_int_equal(shmx__km_remove_object(&km, 2, 77), 0);
	assert_int_equal(shmx__km_check(&km), 0);
	assert_int_equal(shmx__km_remove_object(&km, 2, 77), -ENOENT);
}

static void test_cache(void **state)
{
	uint64_t hits;

	add(1000, 100, 1, RW);
	add(2000, 100, 2, RW);
	expect(1050, 1, 1, 1);
	hits = km.cache_hits;
	expect(1060, 1, 1, 1); /* the hot path: same entry again */
	assert_int_equal(km.cache_hits, hits + 1);

	/* Removed: the cached entry must not answer. */
	assert_int_equal(shmx__km_remove(&km, 1000, NULL), 0);
	expect_none(1050);
	expect(2050, 1, 2, 1);

	/* Replaced: the new grant answers. */
	expect(2050, 1, 2, 1);
	add(2040, 20, 3, RW);
	expect(2050, 1, 3, 1);
	expect(2000, 1000, 2, 40);
	expect(2060, 1000, 2, 40);
	expect(2050, 1, 3, 1);

	/* Shifted: inserts in front move every index. */
	add(0, 10, 4, RW);
	add(20, 10, 5, RW);
	expect(2050, 1, 3, 1);
	expect(25, 1, 5, 1);
	expect(2050, 1, 3, 1);

	/* Removal in front: the cached index now holds another entry. */
	expect(2070, 1, 2, 1);
	assert_int_equal(shmx__km_remove(&km, 0, NULL), 0);
	expect(2070, 1, 2, 1);
	expect(2050, 1, 3, 1);
	expect_none(5);

	/* Removal by object, and clear. */
	expect(2050, 1, 3, 1);
	assert_int_equal(shmx__km_remove_object(&km, 1, 3), 0);
	expect_none(2050);
	expect(2000, 1, 2, 1);
	shmx__km_clear(&km);
	expect_none(2000);
	expect_none(25);
}

static void test_high_addresses(void **state)
{
	const uint64_t top = UINT64_MAX; /* SHMX_GADDR_NULL, never a byte */
	struct shmx__km_entry e;
	uint64_t c;

	/* Ends at the top: start + len == UINT64_MAX is allowed. */
	add(top - 4096, 4096, 1, RW);
	expect(top - 1, 1, 1, 1);
	expect(top - 1, UINT64_MAX, 1, 1);
	expect(top - 4096, UINT64_MAX, 1, 4096);
	expect_none(top);
	expect_none(top - 4097);

	/* Wrapping ranges are refused. */
	e = ent(top - 4096, 4097, 2, RW);
	assert_int_equal(shmx__km_insert(&km, &e), -EINVAL);
	e = ent(top, 1, 2, RW);
	assert_int_equal(shmx__km_insert(&km, &e), -EINVAL);
	e = ent(1, UINT64_MAX, 2, RW);
	assert_int_equal(shmx__km_insert(&km, &e), -EINVAL);
	e = ent(top - 10, UINT64_MAX, 2, RW);
	assert_int_equal(shmx__km_insert(&km, &e), -EINVAL);
	/* The largest range there is: [0, UINT64_MAX). */
	e = ent(0, UINT64_MAX, 2, RW);
	e.rbase = 0;
	assert_int_equal(shmx__km_insert(&km, &e), 0);
	assert_int_equal(shmx__km_check(&km), 1); /* replaced the top one */
	expect(0, UINT64_MAX, 2, UINT64_MAX);
	expect(top - 1, UINT64_MAX, 2, 1);
	shmx__km_clear(&km);

	/* Remote addresses that wrap are refused too; up to the top is fine. */
	e = ent(0, 100, 3, RW);
	e.rbase = UINT64_MAX - 98;
	assert_int_equal(shmx__km_insert(&km, &e), -EINVAL);
	e.rbase = UINT64_MAX - 99;
	assert_int_equal(shmx__km_insert(&km, &e), 0);
	assert_int_equal(shmx__km_lookup(&km, 99, 1, 0, &e, &c), 0);
	assert_int_equal(shmx__km_raddr(&e, 99), UINT64_MAX);

	/* Split near the top. */
	add(top - 1000, 1000, 4, RW);
	add(top - 600, 200, 5, RW);
	assert_int_equal(shmx__km_check(&km), 4);
	expect(top - 1000, UINT64_MAX, 4, 400);
	expect(top - 600, UINT64_MAX, 5, 200);
	expect(top - 400, UINT64_MAX, 4, 400);
	expect(top - 1, UINT64_MAX, 4, 1);
	assert_int_equal(get(top - 400).rbase, ent(0, 1, 4, RW).rbase + 600);
	assert_int_equal(shmx__km_remove(&km, top - 1, NULL), 0);
	expect_none(top - 1);
	expect(top - 401, 1, 5, 1);
}

static void test_invalid(void **state)
{
	struct shmx__km_entry e = ent(0, 100, 1, RW);
	uint64_t c;

	e.len = 0;
	assert_int_equal(shmx__km_insert(&km, &e), -EINVAL);
	e = ent(0, 100, 1, 0);
	assert_int_equal(shmx__km_insert(&km, &e), -EINVAL);
	e = ent(0, 100, 1, RW | 0x8u); /* e.g. SHMX_ACC_OWNED not masked */
	assert_int_equal(shmx__km_insert(&km, &e), -EINVAL);
	assert_int_equal(shmx__km_insert(&km, NULL), -EINVAL);
	assert_int_equal(shmx__km_insert(NULL, &e), -EINVAL);
	assert_int_equal(shmx__km_check(&km), 0);

	add(0, 100, 1, RW);
	assert_int_equal(shmx__km_lookup(&km, 0, 1, 0, NULL, &c), -EINVAL);
	assert_int_equal(shmx__km_lookup(&km, 0, 1, 0, &e, NULL), -EINVAL);
	assert_int_equal(shmx__km_lookup(NULL, 0, 1, 0, &e, &c), -EINVAL);
	assert_int_equal(shmx__km_remove(NULL, 0, NULL), -EINVAL);
	assert_int_equal(shmx__km_remove_object(NULL, 1, 1), -EINVAL);
	assert_int_equal(shmx__km_check(NULL), -EUCLEAN);
}

/* Out of memory while growing: -ENOMEM and the map exactly as before. */
static void test_enomem(void **state)
{
	struct shmx__km_entry before[64], e;
	size_t n, i;
	uint64_t c;

	/* Fill to capacity (the first allocation holds 16). */
	for (i = 0; i < 16; i++)
		add(i * 100, 100, i + 1, RW);
	assert_int_equal(km.cap, 16);
	n = km.n;
	memcpy(before, km.v, n * sizeof(*km.v));

	/* Needs one more: fails. */
	e = ent(5000, 10, 99, RW);
	fail_realloc_in = 1;
	assert_int_equal(shmx__km_insert(&km, &e), -ENOMEM);
	assert_int_equal(km.n, n);
	assert_memory_equal(km.v, before, n * sizeof(*km.v));
	/* A split needs one more too. */
	e = ent(150, 10, 99, RW);
	fail_realloc_in = 1;
	assert_int_equal(shmx__km_insert(&km, &e), -ENOMEM);
	assert_memory_equal(km.v, before, n * sizeof(*km.v));
	expect(150, 1000, 2, 50);

	/*
	 * Replacing, or swallowing one entry while trimming another, needs
	 * no more room: works without memory.
	 */
	e = ent(100, 100, 98, RW);
	fail_realloc_in = 1;
	assert_int_equal(shmx__km_insert(&km, &e), 0);
	e = ent(200, 150, 97, RW);
	assert_int_equal(shmx__km_insert(&km, &e), 0);
	assert_int_equal(fail_realloc_in, 1);
	fail_realloc_in = 0;
	assert_int_equal(shmx__km_lookup(&km, 260, 1, 0, &e, &c), 0);
	assert_int_equal(e.key, 97);

	/* And once memory is back, growth works. */
	add(5000, 10, 99, RW);
	assert_int_equal(shmx__km_check(&km), 17);
}

/* ---- randomized, against a byte-level model ---------------------------- */

/*
 * The model: NG granules of G bytes from @base; each records the key that
 * covers it (0: none), that entry's tag, rights, and the remote address
 * its first byte must map to.  Ranges are whole granules; lookups are at
 * any byte.  Keys are unique per insert, and the pieces of a split entry
 * are never adjacent again (a gap or other keys always lie between them),
 * so an entry of the map is exactly a maximal run of one key.
 */
#define NG 256
#define G 16

struct granule {
	uint64_t key;
	uint64_t raddr;
	uint64_t id;
	uint32_t kind;
	uint32_t access;
};

static struct granule model[NG];
static uint64_t rnd_state;

/* splitmix64: deterministic, seeded per run. */
static uint64_t rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

/* Granules from @g on that share its key (its entry's remaining length). */
static size_t run_from(size_t g)
{
	size_t k = g;

	while (k < NG && model[k].key == model[g].key)
		k++;
	return k - g;
}

/* First granule of the run holding @g. */
static size_t run_start(size_t g)
{
	while (g > 0 && model[g - 1].key == model[g].key)
		g--;
	return g;
}

/* Every granule, at a random byte in it, agrees with the map. */
static void check_model(uint64_t base)
{
	size_t g, runs = 0;

	for (g = 0; g < NG; g++) {
		uint64_t off = rnd_below(G), gaddr = base + g * G + off;
		uint64_t len = 1 + rnd_below((uint64_t)NG * G), want;
		uint32_t need = (uint32_t)rnd_below(8);
		struct shmx__km_entry e;
		uint64_t c = 0;
		int ret = shmx__km_lookup(&km, gaddr, len, need, &e, &c);

		if (model[g].key && (!g || model[g - 1].key != model[g].key))
			runs++;
		if (!model[g].key) {
			assert_int_equal(ret, -ENOENT);
			continue;
		}
		if ((model[g].access & need) != need)
			assert_int_equal(ret, -EACCES);
		else
			assert_int_equal(ret, 0);
		want = run_from(g) * G - off;
		if (len < want)
			want = len;
		assert_int_equal(e.key, model[g].key);
		assert_int_equal(e.id, model[g].id);
		assert_int_equal(e.kind, model[g].kind);
		assert_int_equal(e.access, model[g].access);
		assert_int_equal(e.epoch, model[g].key + 1000);
		assert_int_equal(e.start, base + run_start(g) * G);
		assert_int_equal(c, want);
		assert_int_equal(shmx__km_raddr(&e, gaddr),
				 model[g].raddr + off);
	}
	assert_int_equal(shmx__km_check(&km), (long)runs);
}

static void random_run(uint64_t base, uint64_t seed, int ops)
{
	uint64_t next_key = 1;

	rnd_state = seed;
	memset(model, 0, sizeof(model));
	for (int op = 0; op < ops; op++) {
		uint64_t r = rnd_below(100);

		if (r < 60) {
			/* Mostly small ranges, sometimes a wide one. */
			size_t g0 = rnd_below(NG);
			size_t n = 1 + rnd_below(r < 10 ? NG : 12);
			struct shmx__km_entry e;

			if (g0 + n > NG)
				n = NG - g0;
			e.start = base + g0 * G;
			e.len = n * G;
			e.key = next_key++;
			e.rbase = rnd() >> 8;
			e.epoch = e.key + 1000;
			e.access = 1 + (uint32_t)rnd_below(7);
			e.kind = 1 + (uint32_t)rnd_below(2);
			e.id = 1 + rnd_below(6);
			assert_int_equal(shmx__km_insert(&km, &e), 0);
			for (size_t g = g0; g < g0 + n; g++) {
				model[g].key = e.key;
				model[g].raddr = e.rbase + (g - g0) * G;
				model[g].id = e.id;
				model[g].kind = e.kind;
				model[g].access = e.access;
			}
		} else if (r < 85) {
			size_t g = rnd_below(NG), s, n;
			uint64_t gaddr = base + g * G + rnd_below(G);
			struct shmx__km_entry old;
			int ret = shmx__km_remove(&km, gaddr, &old);

			if (!model[g].key) {
				assert_int_equal(ret, -ENOENT);
				continue;
			}
			assert_int_equal(ret, 0);
			assert_int_equal(old.key, model[g].key);
			s = run_start(g);
			n = run_from(s);
			assert_int_equal(old.start, base + s * G);
			assert_int_equal(old.len, n * G);
			memset(&model[s], 0, n * sizeof(model[0]));
		} else if (r < 93) {
			uint32_t kind = 1 + (uint32_t)rnd_below(2);
			uint64_t id = 1 + rnd_below(6);
			int any = 0;

			for (size_t g = 0; g < NG; g++) {
				if (model[g].key && model[g].kind == kind &&
				    model[g].id == id) {
					memset(&model[g], 0, sizeof(model[g]));
					any = 1;
				}
			}
			assert_int_equal(shmx__km_remove_object(&km, kind, id),
					 any ? 0 : -ENOENT);
		} else if (r < 94) {
			shmx__km_clear(&km);
			memset(model, 0, sizeof(model));
		}
		/* Otherwise only the check below (lookups, cache reuse). */
		check_model(base);
	}
}

static void test_random_low(void **state)
{
	random_run(0x10000, 1, 4000);
}

static void test_random_zero(void **state)
{
	random_run(0, 0xdecafbad, 3000);
}

/* The model's last granule ends exactly at UINT64_MAX. */
static void test_random_top(void **state)
{
	random_run(UINT64_MAX - (uint64_t)NG * G, 0x5eed, 4000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boundaries, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_coverage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_split, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overlap_several, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_touching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_object, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_remove_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_high_addresses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_low, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_random_zero, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_random_top, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
