/* SPDX-License-Identifier: MIT */
/*
 * test_segments.c - shmnode's table of named segments (node/segments.c)
 * against a fake node_keys that records every registration and can fail on
 * demand: the SysV permission matrix, create/attach rules, stat fields with
 * an injected clock, set and remove, detach and member departure, freeze
 * and thaw, grants, listings, key and memory leaks, and that every failure
 * (key registration, metadata allocation) leaves the table as it was.  The
 * region lives at addresses not mapped in this process, so any access to
 * the managed memory would crash.
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

#include "segments.h"

/*
 * Metadata allocation failures: the test links with --wrap for malloc,
 * calloc and realloc, so the table's and the allocator's calls come here.
 * fail_alloc_in = n makes the n-th call from now fail.
 */
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
static int fail_alloc_in;

static int alloc_fails(void)
{
	return fail_alloc_in > 0 && --fail_alloc_in == 0;
}

void *__wrap_malloc(size_t size)
{
	return alloc_fails() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return alloc_fails() ? NULL : __real_realloc(p, size);
}

/* ---- the fake node_keys --------------------------------------------- */

#define MAX_REGS 8192

struct fake_reg {
	uint64_t gaddr;
	uint64_t len;
	uint64_t key;
	unsigned access;
	int live;
};

static struct fake_reg regs[MAX_REGS];
static int nr_regs;	/* registrations made */
static int nr_unregs;	/* and undone */
static int fail_reg_in; /* the n-th reg from now fails */
static int fail_reg_err = -EIO;
static int fake_arg;

static int fake_reg(void *arg, uint64_t gaddr, uint64_t len, unsigned access,
		    void **handle, uint64_t *key)
{
	struct fake_reg *r;

	assert_ptr_equal(arg, &fake_arg);
	assert_true(len > 0);
	assert_true(access == NODE_KEY_RW || access == NODE_KEY_READ);
	if (fail_reg_in > 0 && --fail_reg_in == 0) {
		*handle = (void *)0xdead; /* garbage the table must not use */
		return fail_reg_err;
	}
	assert_true(nr_regs < MAX_REGS);
	r = &regs[nr_regs];
	r->gaddr = gaddr;
	r->len = len;
	r->key = 0x5e900000ull + 7ull * (uint64_t)nr_regs; /* all distinct */
	r->access = access;
	r->live = 1;
	*handle = r;
	*key = r->key;
	nr_regs++;
	return 0;
}

static void fake_unreg(void *arg, void *handle)
{
	struct fake_reg *r = handle;

	assert_ptr_equal(arg, &fake_arg);
	assert_true(r >= regs && r < regs + nr_regs);
	assert_true(r->live); /* never twice */
	r->live = 0;
	nr_unregs++;
}

static const struct node_keys fake_keys = {
	.reg = fake_reg,
	.unreg = fake_unreg,
	.arg = &fake_arg,
};

static int live_regs(void)
{
	return nr_regs - nr_unregs;
}

/* The registration that produced @key, or NULL. */
static struct fake_reg *reg_of(uint64_t key)
{
	for (int i = 0; i < nr_regs; i++)
		if (regs[i].key == key)
			return &regs[i];
	return NULL;
}

static int key_live(uint64_t key)
{
	struct fake_reg *r = reg_of(key);

	return r && r->live;
}

/* How many live keys of @access cover exactly [@gaddr, @gaddr + @len). */
static int live_over(uint64_t gaddr, uint64_t len, unsigned access)
{
	int n = 0;

	for (int i = 0; i < nr_regs; i++)
		if (regs[i].live && regs[i].gaddr == gaddr &&
		    regs[i].len == len && regs[i].access == access)
			n++;
	return n;
}

/* ---- fixture -------------------------------------------------------- */

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define BASE (64 * MIB) /* never mapped here */
#define REGION (1 * MIB)

/* Members (node ids) and their credentials. */
#define M1 1u
#define M2 2u
#define M3 3u
#define M4 4u
#define ROOT 0u

static struct shmx__alloc region;
static struct node_segs tab;

static int setup(void **state)
{
	(void)state;
	memset(regs, 0, sizeof(regs));
	nr_regs = 0;
	nr_unregs = 0;
	fail_reg_in = 0;
	fail_reg_err = -EIO;
	fail_alloc_in = 0;
	assert_int_equal(shmx__alloc_init(&region, BASE, REGION), 0);
	assert_int_equal(node_segs_init(&tab, &region, &fake_keys, NULL), 0);
	return 0;
}

/* Every test ends here: fini leaves no key and no byte behind. */
static int teardown(void **state)
{
	struct shmx__alloc_stat rs;

	(void)state;
	assert_int_equal(node_segs_check(&tab), 0);
	node_segs_fini(&tab);
	assert_int_equal(live_regs(), 0);
	assert_int_equal(node_segs_count(&tab), 0);
	shmx__alloc_stat(&region, &rs);
	assert_int_equal(rs.free, REGION);
	assert_int_equal(rs.nr_alloc, 0);
	node_segs_fini(&tab); /* harmless twice */
	shmx__alloc_fini(&region);
	return 0;
}

static uint64_t region_free(void)
{
	struct shmx__alloc_stat rs;

	shmx__alloc_stat(&region, &rs);
	return rs.free;
}

/* Open and expect success; returns the attach record. */
static struct node_seg_attach open_ok(uint32_t member, uint32_t uid,
				      uint32_t gid, const char *name,
				      uint64_t size, unsigned flags,
				      uint32_t mode, int64_t now)
{
	struct node_seg_attach at;

	memset(&at, 0xa5, sizeof(at));
	assert_int_equal(node_seg_open(&tab, member, uid, gid, name, size,
				       flags, mode, now, &at),
			 0);
	assert_int_equal(node_segs_check(&tab), 0);
	return at;
}

static int open_err(uint32_t member, uint32_t uid, uint32_t gid,
		    const char *name, uint64_t size, unsigned flags,
		    uint32_t mode)
{
	struct node_seg_attach at;

	return node_seg_open(&tab, member, uid, gid, name, size, flags, mode, 7,
			     &at);
}

static void assert_grant_equal(const struct node_seg_grant *x,
			       const struct node_seg_grant *y)
{
	assert_int_equal(x->start, y->start);
	assert_int_equal(x->len, y->len);
	assert_int_equal(x->key, y->key);
	assert_int_equal(x->access, y->access);
}

static struct node_seg_info stat_ok(uint64_t id)
{
	struct node_seg_info info;

	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(node_seg_stat(&tab, id, &info), 0);
	return info;
}

/* ---- snapshots: "the table is exactly as it was" --------------------- */

#define SNAP_MAX 64

struct snap {
	struct node_seg_info info[SNAP_MAX];
	uint32_t rw[SNAP_MAX][5], ro[SNAP_MAX][5]; /* members 0..4 */
	int n;
	struct shmx__alloc_stat rs;
	int live;
	uint64_t live_keys[2 * SNAP_MAX];
	int nr_live_keys;
};

static int snap_one(void *arg, const struct node_seg_info *info)
{
	struct snap *s = arg;

	assert_true(s->n < SNAP_MAX);
	memcpy(&s->info[s->n], info, sizeof(*info));
	for (uint32_t m = 0; m < 5; m++)
		node_seg_attachments(&tab, info->id, m, &s->rw[s->n][m],
				     &s->ro[s->n][m]);
	s->n++;
	return 0;
}

static void snap_take(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(node_segs_check(&tab), 0);
	assert_int_equal(node_segs_foreach(&tab, snap_one, s), 0);
	shmx__alloc_stat(&region, &s->rs);
	s->live = live_regs();
	for (int i = 0; i < nr_regs; i++)
		if (regs[i].live) {
			assert_true(s->nr_live_keys < 2 * SNAP_MAX);
			s->live_keys[s->nr_live_keys++] = regs[i].key;
		}
}

static void assert_snap_same(const struct snap *before)
{
	struct snap now;

	snap_take(&now);
	assert_memory_equal(&now, before, sizeof(now));
}

/* ---- tests ---------------------------------------------------------- */

static void test_init_args(void **state)
{
	struct node_keys no_unreg = { .reg = fake_reg, .arg = &fake_arg };
	struct node_segs other;

	(void)state;
	assert_int_equal(node_segs_init(NULL, &region, &fake_keys, NULL),
			 -EINVAL);
	assert_int_equal(node_segs_init(&other, NULL, &fake_keys, NULL),
			 -EINVAL);
	assert_int_equal(node_segs_init(&other, &region, NULL, NULL), -EINVAL);
	assert_int_equal(node_segs_init(&other, &region, &no_unreg, NULL),
			 -EINVAL);
	assert_int_equal(node_segs_count(&tab), 0);
	assert_int_equal(node_segs_check(&tab), 0);
}

static void test_open_args(void **state)
{
	char name63[64], name64[65];
	struct node_seg_attach at;
	struct snap s;

	(void)state;
	memset(name63, 'n', 63);
	name63[63] = '\0';
	memset(name64, 'n', 64);
	name64[64] = '\0';
	open_ok(M1, 100, 200, "present", 4096, NODE_SEG_CREAT, 0600, 1);
	snap_take(&s);

	assert_int_equal(open_err(0, 100, 200, "a", 64, NODE_SEG_CREAT, 0600),
			 -EINVAL);
	assert_int_equal(node_seg_open(&tab, M1, 100, 200, "a", 64,
				       NODE_SEG_CREAT, 0600, 1, NULL),
			 -EINVAL);
	assert_int_equal(open_err(M1, 100, 200, NULL, 64, NODE_SEG_CREAT, 0600),
			 -EINVAL);
	assert_int_equal(open_err(M1, 100, 200, "", 64, NODE_SEG_CREAT, 0600),
			 -EINVAL);
	assert_int_equal(
		open_err(M1, 100, 200, name64, 64, NODE_SEG_CREAT, 0600),
		-EINVAL);
	assert_int_equal(
		open_err(M1, 100, 200, "tab\there", 64, NODE_SEG_CREAT, 0600),
		-EINVAL);
	assert_int_equal(
		open_err(M1, 100, 200, "del\x7f", 64, NODE_SEG_CREAT, 0600),
		-EINVAL);
	assert_int_equal(
		open_err(M1, 100, 200, "hi\xc3\xa9", 64, NODE_SEG_CREAT, 0600),
		-EINVAL);
	assert_int_equal(open_err(M1, 100, 200, "a", 64, 0x8, 0600), -EINVAL);
	assert_int_equal(open_err(M1, 100, 200, "a", 64, NODE_SEG_EXCL, 0600),
			 -EINVAL);
	assert_int_equal(open_err(M1, 100, 200, "a", 64, NODE_SEG_CREAT, 01000),
			 -EINVAL);
	/* Bad arguments are found before the name is looked up. */
	assert_int_equal(open_err(M1, 100, 200, "present", 0, 0x10, 0),
			 -EINVAL);
	assert_snap_same(&s);

	/* Any valid name: 63 bytes, spaces, SysV keys shown as names. */
	at = open_ok(M1, 100, 200, name63, 8, NODE_SEG_CREAT, 0600, 1);
	assert_int_equal(at.created, 1);
	at = open_ok(M1, 100, 200, " ~ spaced ~ ", 8, NODE_SEG_CREAT, 0600, 1);
	assert_int_equal(at.created, 1);
	at = open_ok(M1, 100, 200, "key:0x1234", 8, NODE_SEG_CREAT, 0600, 1);
	assert_int_equal(at.created, 1);
	assert_int_equal(node_segs_count(&tab), 4);
}

static void test_create_attach(void **state)
{
	struct node_segs_limits lim = { .max_seg_size = 64 * KIB };
	struct node_seg_attach a, b, c, d;
	struct node_seg_info info;
	uint64_t free0 = region_free();

	(void)state;
	node_segs_fini(&tab);
	assert_int_equal(node_segs_init(&tab, &region, &fake_keys, &lim), 0);

	/* Absent and no CREAT. */
	assert_int_equal(open_err(M1, 100, 200, "s", 4096, 0, 0600), -ENOENT);
	assert_int_equal(open_err(M1, 100, 200, "s", 0, NODE_SEG_RDONLY, 0),
			 -ENOENT);
	/* Creating needs a size, within the limit (after rounding). */
	assert_int_equal(open_err(M1, 100, 200, "s", 0, NODE_SEG_CREAT, 0600),
			 -EINVAL);
	assert_int_equal(
		open_err(M1, 100, 200, "s", 64 * KIB + 1, NODE_SEG_CREAT, 0600),
		-EINVAL);
	assert_int_equal(
		open_err(M1, 100, 200, "s", UINT64_MAX, NODE_SEG_CREAT, 0600),
		-EINVAL);
	assert_int_equal(live_regs(), 0);
	assert_int_equal(region_free(), free0);

	/* Create: size rounded to 8, carved at 4096, both keys registered. */
	a = open_ok(M1, 100, 200, "s", 10, NODE_SEG_CREAT, 0600, 5);
	assert_int_equal(a.id, 1);
	assert_int_equal(a.created, 1);
	assert_int_equal(a.g.len, 16);
	assert_int_equal(a.g.start % NODE_SEG_ALIGN, 0);
	assert_true(a.g.start >= BASE && a.g.start + 16 <= BASE + REGION);
	assert_int_equal(a.g.access, NODE_KEY_RW);
	assert_true(key_live(a.g.key));
	assert_int_equal(reg_of(a.g.key)->access, NODE_KEY_RW);
	assert_int_equal(live_over(a.g.start, 16, NODE_KEY_RW), 1);
	assert_int_equal(live_over(a.g.start, 16, NODE_KEY_READ), 1);
	assert_int_equal(live_regs(), 2);
	assert_int_equal(region_free(), free0 - 16);

	/* CREAT on a present segment attaches; size 0 = as it is. */
	b = open_ok(M2, 100, 200, "s", 0, NODE_SEG_CREAT, 0777, 6);
	assert_int_equal(b.id, a.id);
	assert_int_equal(b.created, 0);
	assert_grant_equal(&b.g, &a.g);
	/* Any size up to the segment's; read-only gets the read-only key. */
	c = open_ok(M2, 100, 200, "s", 16, NODE_SEG_RDONLY, 0, 7);
	assert_int_equal(c.id, a.id);
	assert_int_equal(c.g.access, NODE_KEY_READ);
	assert_int_equal(c.g.start, a.g.start);
	assert_int_equal(c.g.len, 16);
	assert_int_not_equal(c.g.key, a.g.key);
	assert_true(key_live(c.g.key));
	assert_int_equal(reg_of(c.g.key)->access, NODE_KEY_READ);
	d = open_ok(M2, 100, 200, "s", 11, 0, 0, 7);
	assert_grant_equal(&d.g, &a.g);
	/* Larger than the segment: SysV EINVAL (rounding does not help). */
	assert_int_equal(open_err(M3, 100, 200, "s", 17, 0, 0), -EINVAL);
	assert_int_equal(open_err(M3, 100, 200, "s", 24, NODE_SEG_CREAT, 0600),
			 -EINVAL);
	/* EXCL: present. */
	assert_int_equal(open_err(M3, 100, 200, "s", 16,
				  NODE_SEG_CREAT | NODE_SEG_EXCL, 0600),
			 -EEXIST);
	/* EEXIST comes before the size and permission checks (Linux). */
	assert_int_equal(open_err(M3, 999, 999, "s", 1 * MIB,
				  NODE_SEG_CREAT | NODE_SEG_EXCL, 0600),
			 -EEXIST);
	/* The size before the permission check. */
	assert_int_equal(open_err(M3, 999, 999, "s", 1 * MIB, 0, 0), -EINVAL);
	assert_int_equal(open_err(M3, 999, 999, "s", 8, 0, 0), -EACCES);

	info = stat_ok(a.id);
	assert_int_equal(info.nattch, 4);
	assert_int_equal(node_seg_attachments(&tab, a.id, M1, NULL, NULL), 1);
	{
		uint32_t rw, ro;

		assert_int_equal(node_seg_attachments(&tab, a.id, M2, &rw, &ro),
				 3);
		assert_int_equal(rw, 2);
		assert_int_equal(ro, 1);
		assert_int_equal(node_seg_attachments(&tab, a.id, M3, &rw, &ro),
				 0);
		assert_int_equal(rw + ro, 0);
		assert_int_equal(node_seg_attachments(&tab, 99, M1, &rw, &ro),
				 0);
	}

	/* EXCL creates when absent; a new segment gets the next id. */
	b = open_ok(M3, 300, 300, "t", 64 * KIB, NODE_SEG_CREAT | NODE_SEG_EXCL,
		    0644, 8);
	assert_int_equal(b.id, 2);
	assert_int_equal(b.created, 1);
	assert_true(b.g.start >= a.g.start + 16 ||
		    b.g.start + b.g.len <= a.g.start);
	assert_int_equal(live_regs(), 4);

	/* Ids are never reused: remove and free "t", create again. */
	assert_int_equal(node_seg_remove(&tab, 300, b.id, 9), 0);
	assert_int_equal(node_seg_close(&tab, M3, b.id, 9), 0);
	assert_int_equal(node_seg_stat(&tab, b.id, &info), -ENOENT);
	c = open_ok(M3, 300, 300, "t", 8, NODE_SEG_CREAT | NODE_SEG_EXCL, 0644,
		    10);
	assert_int_equal(c.id, 3);
	assert_int_equal(c.created, 1);
}

static void test_no_room(void **state)
{
	struct node_seg_attach a;
	struct snap s;

	(void)state;
	/* Fill the region but for one page. */
	a = open_ok(M1, 100, 200, "big", REGION - 4096, NODE_SEG_CREAT, 0600,
		    1);
	assert_int_equal(a.g.start, BASE);
	snap_take(&s);
	assert_int_equal(
		open_err(M1, 100, 200, "x", 4096 + 8, NODE_SEG_CREAT, 0600),
		-ENOSPC);
	assert_int_equal(
		open_err(M1, 100, 200, "x", REGION + 8, NODE_SEG_CREAT, 0600),
		-ENOSPC);
	assert_snap_same(&s);
	a = open_ok(M1, 100, 200, "x", 4096 - 8, NODE_SEG_CREAT, 0600, 1);
	assert_int_equal(a.g.start, BASE + REGION - 4096);
	assert_int_equal(region_free(), 8);
}

/*
 * Expected outcome of an attach by @uid/@gid to a segment with owner
 * 300/400, creator 100/200 and @mode, written out apart from the code.
 */
static int expect_perm(uint32_t uid, uint32_t gid, uint32_t mode, int ro)
{
	uint32_t bits;

	if (uid == 0)
		return 0;
	if (uid == 300 || uid == 100)
		bits = (mode >> 6) & 7;
	else if (gid == 400 || gid == 200)
		bits = (mode >> 3) & 7;
	else
		bits = mode & 7;
	if (!(bits & 4))
		return -EACCES;
	if (!ro && !(bits & 2))
		return -EACCES;
	return 0;
}

static void test_perm_matrix(void **state)
{
	/* uid, gid: each class reached each way, and root. */
	static const uint32_t who[][2] = {
		{ 300, 999 }, /* owner uid */
		{ 100, 999 }, /* creator uid */
		{ 300, 400 }, /* owner uid beats group */
		{ 500, 400 }, /* owner gid */
		{ 500, 200 }, /* creator gid */
		{ 500, 999 }, /* other */
		{ 0, 999 },   /* root */
		{ 0, 0 },     /* root */
	};
	struct node_seg_attach at;
	uint64_t id;
	int checked = 0;

	(void)state;
	at = open_ok(M1, 100, 200, "perm", 4096, NODE_SEG_CREAT, 0600, 1);
	id = at.id;
	assert_int_equal(node_seg_set(&tab, 100, id, 300, 400, 0600, 2), 0);
	assert_int_equal(node_seg_close(&tab, M1, id, 3), 0);

	/* Every combination of r and w in the three classes, with x noise. */
	for (uint32_t m = 0; m < 64; m++) {
		uint32_t mode = ((m >> 4 & 3) << 7) | ((m >> 2 & 3) << 4) |
				((m & 3) << 1) | (m & 1 ? 0111 : 0);

		assert_int_equal(node_seg_set(&tab, 0, id, 300, 400, mode, 4),
				 0);
		for (size_t w = 0; w < sizeof(who) / sizeof(who[0]); w++) {
			for (int ro = 0; ro < 2; ro++) {
				unsigned fl = ro ? NODE_SEG_RDONLY : 0;
				int want = expect_perm(who[w][0], who[w][1],
						       mode, ro);
				int got = node_seg_open(&tab, M2, who[w][0],
							who[w][1], "perm", 0,
							fl, 0, 5, &at);

				if (got != want)
					fail_msg("mode %03o uid %u gid %u ro "
						 "%d: "
						 "got %d want %d",
						 mode, who[w][0], who[w][1], ro,
						 got, want);
				if (!got) {
					assert_int_equal(at.g.access,
							 ro ? NODE_KEY_READ
							    : NODE_KEY_RW);
					assert_int_equal(
						node_seg_close(&tab, M2, id, 6),
						0);
				}
				checked++;
			}
		}
	}
	assert_int_equal(checked, 64 * 8 * 2);
	assert_int_equal(stat_ok(id).nattch, 0);

	/* Spot checks that the matrix could hide. */
	/* Write-only: no attach at all (SysV attaches need r). */
	assert_int_equal(node_seg_set(&tab, 0, id, 300, 400, 0200, 7), 0);
	assert_int_equal(open_err(M2, 300, 1, "perm", 0, 0, 0), -EACCES);
	assert_int_equal(open_err(M2, 300, 1, "perm", 0, NODE_SEG_RDONLY, 0),
			 -EACCES);
	/* The owner class is chosen, even when it grants less than others. */
	assert_int_equal(node_seg_set(&tab, 0, id, 300, 400, 0077, 7), 0);
	assert_int_equal(open_err(M2, 300, 400, "perm", 0, NODE_SEG_RDONLY, 0),
			 -EACCES);
	assert_int_equal(open_err(M2, 100, 999, "perm", 0, NODE_SEG_RDONLY, 0),
			 -EACCES);
	assert_int_equal(open_err(M2, 500, 400, "perm", 0, 0, 0), 0);
	assert_int_equal(open_err(M2, 500, 999, "perm", 0, 0, 0), 0);
	assert_int_equal(node_seg_close(&tab, M2, id, 8), 0);
	assert_int_equal(node_seg_close(&tab, M2, id, 8), 0);
	/* Root with mode 0. */
	assert_int_equal(node_seg_set(&tab, 0, id, 300, 400, 0, 7), 0);
	assert_int_equal(open_err(M2, 0, 0, "perm", 0, 0, 0), 0);
	assert_int_equal(open_err(M2, 300, 400, "perm", 0, NODE_SEG_RDONLY, 0),
			 -EACCES);
	assert_int_equal(node_seg_close(&tab, M2, id, 8), 0);

	/* The creator's own attach is checked against the mode it gives. */
	assert_int_equal(open_err(M1, 100, 200, "new", 8, NODE_SEG_CREAT, 0400),
			 -EACCES);
	assert_int_equal(open_err(M1, 100, 200, "new", 8, NODE_SEG_CREAT, 0066),
			 -EACCES);
	assert_int_equal(node_segs_count(&tab), 1);
	at = open_ok(M1, 100, 200, "new", 8, NODE_SEG_CREAT | NODE_SEG_RDONLY,
		     0400, 9);
	assert_int_equal(at.created, 1);
	assert_int_equal(at.g.access, NODE_KEY_READ);
	/* Root creates with mode 0 and gets read-write. */
	at = open_ok(M1, 0, 0, "root", 8, NODE_SEG_CREAT, 0, 9);
	assert_int_equal(at.created, 1);
	assert_int_equal(at.g.access, NODE_KEY_RW);
	assert_int_equal(open_err(M2, 100, 200, "root", 0, NODE_SEG_RDONLY, 0),
			 -EACCES);
}

static void test_stat_fields(void **state)
{
	struct node_seg_info info, byname;
	struct node_seg_attach a;

	(void)state;
	a = open_ok(M1, 100, 200, "stat", 100, NODE_SEG_CREAT, 0640, 1000);
	info = stat_ok(a.id);
	assert_int_equal(info.id, a.id);
	assert_string_equal(info.name, "stat");
	assert_int_equal(info.gaddr, a.g.start);
	assert_int_equal(info.size, 104);
	assert_int_equal(info.uid, 100);
	assert_int_equal(info.gid, 200);
	assert_int_equal(info.mode, 0640);
	assert_int_equal(info.cuid, 100);
	assert_int_equal(info.cgid, 200);
	assert_int_equal(info.creator_node, M1);
	assert_int_equal(info.last_attach_node, M1);
	assert_int_equal(info.last_detach_node, 0);
	assert_int_equal(info.nattch, 1);
	assert_int_equal(info.removed, 0);
	assert_int_equal(info.frozen, 0);
	assert_int_equal(info.frozen_by, 0);
	assert_int_equal(info.atime, 1000);
	assert_int_equal(info.dtime, 0);
	assert_int_equal(info.ctime, 1000);

	/* By name: the same record, zero padding included. */
	assert_int_equal(node_seg_stat(&tab, a.id, &info), 0);
	memset(&byname, 0x5a, sizeof(byname));
	assert_int_equal(node_seg_stat_name(&tab, "stat", &byname), 0);
	assert_memory_equal(&byname, &info, sizeof(info));

	/* Attach by another member: attach node and time. */
	open_ok(M2, 101, 200, "stat", 0, NODE_SEG_RDONLY, 0, 1010);
	info = stat_ok(a.id);
	assert_int_equal(info.last_attach_node, M2);
	assert_int_equal(info.atime, 1010);
	assert_int_equal(info.nattch, 2);
	assert_int_equal(info.dtime, 0);
	assert_int_equal(info.ctime, 1000);

	/* Detach: detach node and time; atime stays. */
	assert_int_equal(node_seg_close(&tab, M1, a.id, 1020), 0);
	info = stat_ok(a.id);
	assert_int_equal(info.last_attach_node, M2);
	assert_int_equal(info.last_detach_node, M1);
	assert_int_equal(info.atime, 1010);
	assert_int_equal(info.dtime, 1020);
	assert_int_equal(info.nattch, 1);
	assert_int_equal(info.ctime, 1000);

	/* Set: ctime, owner and mode; creator unchanged. */
	assert_int_equal(node_seg_set(&tab, 100, a.id, 555, 666, 0604, 1030),
			 0);
	info = stat_ok(a.id);
	assert_int_equal(info.uid, 555);
	assert_int_equal(info.gid, 666);
	assert_int_equal(info.mode, 0604);
	assert_int_equal(info.cuid, 100);
	assert_int_equal(info.cgid, 200);
	assert_int_equal(info.creator_node, M1);
	assert_int_equal(info.ctime, 1030);
	assert_int_equal(info.atime, 1010);
	assert_int_equal(info.dtime, 1020);

	/* Unknown id or name; bad names are not found. */
	assert_int_equal(node_seg_stat(&tab, 0, &info), -ENOENT);
	assert_int_equal(node_seg_stat(&tab, a.id + 1, &info), -ENOENT);
	assert_int_equal(node_seg_stat_name(&tab, "nope", &info), -ENOENT);
	assert_int_equal(node_seg_stat_name(&tab, "", &info), -ENOENT);
	assert_int_equal(node_seg_stat_name(&tab, NULL, &info), -ENOENT);
}

static void test_set(void **state)
{
	struct node_seg_attach a;
	struct node_seg_info info;
	struct snap s;

	(void)state;
	a = open_ok(M1, 100, 200, "set", 4096, NODE_SEG_CREAT, 0660, 1);
	snap_take(&s);
	/* Group members and others may not; bad values; no such id. */
	assert_int_equal(node_seg_set(&tab, 101, a.id, 101, 200, 0666, 2),
			 -EPERM);
	assert_int_equal(node_seg_set(&tab, 999, a.id, 999, 999, 0666, 2),
			 -EPERM);
	assert_int_equal(node_seg_set(&tab, 100, a.id, 100, 200, 01000, 2),
			 -EINVAL);
	assert_int_equal(node_seg_set(&tab, 100, a.id, UINT32_MAX, 200, 0, 2),
			 -EINVAL);
	assert_int_equal(node_seg_set(&tab, 100, a.id, 100, UINT32_MAX, 0, 2),
			 -EINVAL);
	assert_int_equal(node_seg_set(&tab, 100, a.id + 1, 100, 200, 0, 2),
			 -ENOENT);
	assert_snap_same(&s);

	/* The owner gives it away; the creator stays creator. */
	assert_int_equal(node_seg_set(&tab, 100, a.id, 300, 400, 0600, 3), 0);
	info = stat_ok(a.id);
	assert_int_equal(info.uid, 300);
	assert_int_equal(info.cuid, 100);
	assert_int_equal(info.cgid, 200);
	/* The new owner may set, and so may the creator, and root. */
	assert_int_equal(node_seg_set(&tab, 300, a.id, 301, 401, 0640, 4), 0);
	assert_int_equal(stat_ok(a.id).ctime, 4);
	assert_int_equal(node_seg_set(&tab, 300, a.id, 300, 400, 0640, 5),
			 -EPERM); /* no longer the owner */
	assert_int_equal(node_seg_set(&tab, 100, a.id, 302, 402, 0600, 6), 0);
	assert_int_equal(node_seg_set(&tab, 0, a.id, 303, 403, 0604, 7), 0);
	info = stat_ok(a.id);
	assert_int_equal(info.uid, 303);
	assert_int_equal(info.gid, 403);
	assert_int_equal(info.mode, 0604);
	assert_int_equal(info.cuid, 100);
	assert_int_equal(info.cgid, 200);
	assert_int_equal(info.ctime, 7);

	/* The creator keeps owner-class access; the new bits apply at once. */
	assert_int_equal(open_err(M2, 100, 1, "set", 0, 0, 0), 0);
	assert_int_equal(open_err(M2, 303, 1, "set", 0, 0, 0), 0);
	assert_int_equal(open_err(M2, 9, 403, "set", 0, NODE_SEG_RDONLY, 0),
			 -EACCES);
	assert_int_equal(open_err(M2, 9, 9, "set", 0, NODE_SEG_RDONLY, 0), 0);
	assert_int_equal(open_err(M2, 9, 9, "set", 0, 0, 0), -EACCES);
	assert_int_equal(stat_ok(a.id).nattch, 4);
	/* Removal by the same rule. */
	assert_int_equal(node_seg_remove(&tab, 9, a.id, 8), -EPERM);
	assert_int_equal(node_seg_remove(&tab, 401, a.id, 8), -EPERM);
	assert_int_equal(node_seg_remove(&tab, 100, a.id, 8), 0);
	/* A removed segment can still be set by its id. */
	assert_int_equal(node_seg_set(&tab, 303, a.id, 303, 403, 0600, 9), 0);
	assert_int_equal(stat_ok(a.id).ctime, 9);
}

static void test_remove_attached(void **state)
{
	struct node_seg_attach a, b, again;
	struct node_seg_info info;
	struct node_seg_grant g;
	uint64_t free0, rw_key, ro_key;

	(void)state;
	a = open_ok(M1, 100, 200, "rm", 8192, NODE_SEG_CREAT, 0666, 1);
	b = open_ok(M2, 101, 201, "rm", 0, NODE_SEG_RDONLY, 0, 2);
	rw_key = a.g.key;
	ro_key = b.g.key;
	free0 = region_free();

	assert_int_equal(node_seg_remove(&tab, 101, a.id, 3), -EPERM);
	assert_int_equal(node_seg_remove(&tab, 100, a.id + 1, 3), -ENOENT);
	assert_int_equal(node_seg_remove(&tab, 100, a.id, 3), 0);
	assert_int_equal(node_segs_check(&tab), 0);

	/* The name is gone at once... */
	assert_int_equal(node_seg_stat_name(&tab, "rm", &info), -ENOENT);
	assert_int_equal(open_err(M3, 100, 200, "rm", 0, 0, 0), -ENOENT);
	assert_int_equal(open_err(M3, 100, 200, "rm", 0, NODE_SEG_RDONLY, 0),
			 -ENOENT);
	/* ...the segment, its memory and keys are not. */
	info = stat_ok(a.id);
	assert_int_equal(info.removed, 1);
	assert_int_equal(info.nattch, 2);
	assert_int_equal(info.ctime, 3);
	assert_string_equal(info.name, "rm");
	assert_int_equal(region_free(), free0);
	assert_true(key_live(rw_key));
	assert_true(key_live(ro_key));
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start + 100, 1, &g), 0);
	assert_int_equal(g.key, rw_key);
	/* Removing again changes nothing (Linux), but still needs rights. */
	assert_int_equal(node_seg_remove(&tab, 101, a.id, 4), -EPERM);
	assert_int_equal(node_seg_remove(&tab, 100, a.id, 4), 0);
	assert_int_equal(stat_ok(a.id).ctime, 3);

	/* A new segment under the same name: another id and range. */
	again = open_ok(M3, 100, 200, "rm", 4096,
			NODE_SEG_CREAT | NODE_SEG_EXCL, 0600, 5);
	assert_int_equal(again.created, 1);
	assert_int_not_equal(again.id, a.id);
	assert_int_not_equal(again.g.start, a.g.start);
	assert_int_equal(region_free(), free0 - 4096);
	assert_int_equal(node_seg_stat_name(&tab, "rm", &info), 0);
	assert_int_equal(info.id, again.id);
	assert_int_equal(node_segs_count(&tab), 2);

	/* Detach one: still there. */
	assert_int_equal(node_seg_close(&tab, M1, a.id, 6), 0);
	info = stat_ok(a.id);
	assert_int_equal(info.nattch, 1);
	assert_int_equal(info.last_detach_node, M1);
	assert_int_equal(region_free(), free0 - 4096);
	assert_true(key_live(rw_key));
	assert_int_equal(node_seg_grant(&tab, M2, a.g.start, 0, &g), 0);
	assert_int_equal(g.key, ro_key);

	/* The last detach frees it: keys, memory, id. */
	assert_int_equal(node_seg_close(&tab, M2, a.id, 7), 0);
	assert_int_equal(node_seg_stat(&tab, a.id, &info), -ENOENT);
	assert_false(key_live(rw_key));
	assert_false(key_live(ro_key));
	assert_int_equal(region_free(), free0 - 4096 + 8192);
	assert_int_equal(node_seg_grant(&tab, M2, a.g.start, 0, &g), -EFAULT);
	assert_int_equal(node_seg_close(&tab, M2, a.id, 8), -ENOENT);
	assert_int_equal(node_seg_remove(&tab, 100, a.id, 8), -ENOENT);
	assert_int_equal(node_segs_count(&tab), 1);
	assert_int_equal(live_regs(), 2);
}

static void test_remove_unattached(void **state)
{
	struct node_seg_attach a;
	struct node_seg_info info;
	uint64_t free0 = region_free();

	(void)state;
	a = open_ok(M1, 100, 200, "lone", 12288, NODE_SEG_CREAT, 0600, 1);
	assert_int_equal(node_seg_close(&tab, M1, a.id, 2), 0);
	/* Not attached: the segment stays (SysV), with its keys. */
	info = stat_ok(a.id);
	assert_int_equal(info.nattch, 0);
	assert_int_equal(info.removed, 0);
	assert_int_equal(region_free(), free0 - 12288);
	assert_int_equal(live_regs(), 2);
	/* Removed with nobody attached: freed at once. */
	assert_int_equal(node_seg_remove(&tab, 100, a.id, 3), 0);
	assert_int_equal(node_seg_stat(&tab, a.id, &info), -ENOENT);
	assert_int_equal(region_free(), free0);
	assert_int_equal(live_regs(), 0);
	assert_int_equal(node_segs_count(&tab), 0);
}

static void test_close(void **state)
{
	struct node_seg_attach a;
	struct node_seg_grant g;
	uint32_t rw, ro;
	struct snap s;

	(void)state;
	a = open_ok(M1, 100, 200, "cl", 4096, NODE_SEG_CREAT, 0644, 1);
	snap_take(&s);
	assert_int_equal(node_seg_close(&tab, M2, a.id, 2), -EINVAL);
	assert_int_equal(node_seg_close(&tab, 0, a.id, 2), -EINVAL);
	assert_int_equal(node_seg_close(&tab, M1, a.id + 1, 2), -ENOENT);
	assert_snap_same(&s);

	/* Each attach counts; a read-only one is ended first. */
	open_ok(M1, 100, 200, "cl", 0, NODE_SEG_RDONLY, 0, 2);
	open_ok(M1, 100, 200, "cl", 0, 0, 0, 3);
	open_ok(M2, 101, 200, "cl", 0, NODE_SEG_RDONLY, 0, 3);
	assert_int_equal(node_seg_attachments(&tab, a.id, M1, &rw, &ro), 3);
	assert_int_equal(rw, 2);
	assert_int_equal(ro, 1);
	assert_int_equal(stat_ok(a.id).nattch, 4);
	assert_int_equal(node_seg_close(&tab, M1, a.id, 4), 0);
	assert_int_equal(node_seg_attachments(&tab, a.id, M1, &rw, &ro), 2);
	assert_int_equal(rw, 2);
	assert_int_equal(ro, 0);
	assert_int_equal(node_seg_close(&tab, M1, a.id, 5), 0);
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start, 1, &g), 0);
	assert_int_equal(node_seg_close(&tab, M1, a.id, 6), 0);
	assert_int_equal(node_seg_attachments(&tab, a.id, M1, &rw, &ro), 0);
	assert_int_equal(node_seg_close(&tab, M1, a.id, 7), -EINVAL);
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start, 0, &g), -EACCES);
	assert_int_equal(stat_ok(a.id).nattch, 1);
	assert_int_equal(stat_ok(a.id).last_detach_node, M1);
	assert_int_equal(stat_ok(a.id).dtime, 6);
	assert_int_equal(node_seg_close(&tab, M2, a.id, 8), 0);
	assert_int_equal(stat_ok(a.id).nattch, 0);
	assert_int_equal(live_regs(), 2);

	/* Naming the kind: closing the read-write handle of a member that
	 * also holds a read-only one takes its write access away. */
	open_ok(M1, 100, 200, "cl", 0, 0, 0, 9);
	open_ok(M1, 100, 200, "cl", 0, NODE_SEG_RDONLY, 0, 9);
	assert_int_equal(node_seg_close_kind(&tab, M1, a.id, 0, 10), 0);
	assert_int_equal(node_seg_attachments(&tab, a.id, M1, &rw, &ro), 1);
	assert_int_equal(rw, 0);
	assert_int_equal(ro, 1);
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start, 1, &g), -EACCES);
	assert_int_equal(node_seg_close_kind(&tab, M1, a.id, 0, 11), -EINVAL);
	assert_int_equal(node_seg_close_kind(&tab, 0, a.id, 1, 11), -EINVAL);
	assert_int_equal(node_seg_close_kind(&tab, M1, a.id + 99, 1, 11),
			 -ENOENT);
	assert_int_equal(node_seg_close_kind(&tab, M1, a.id, 1, 11), 0);
	assert_int_equal(stat_ok(a.id).nattch, 0);
}

static void test_member_gone(void **state)
{
	struct node_seg_attach a, b, c;
	struct node_seg_info info;
	uint64_t free0;
	struct snap s;

	(void)state;
	a = open_ok(M1, 100, 200, "ga", 4096, NODE_SEG_CREAT, 0666, 1);
	open_ok(M1, 100, 200, "ga", 0, 0, 0, 1);
	open_ok(M1, 100, 200, "ga", 0, NODE_SEG_RDONLY, 0, 1);
	open_ok(M2, 101, 200, "ga", 0, 0, 0, 2);
	b = open_ok(M1, 100, 200, "gb", 8192, NODE_SEG_CREAT, 0600, 2);
	open_ok(M1, 100, 200, "gb", 0, NODE_SEG_RDONLY, 0, 2);
	c = open_ok(M3, 100, 200, "gc", 4096, NODE_SEG_CREAT, 0600, 2);
	assert_int_equal(node_seg_remove(&tab, 100, b.id, 3), 0);
	free0 = region_free();

	/* A member with nothing: nothing happens. */
	snap_take(&s);
	assert_int_equal(node_segs_member_gone(&tab, M4, 10), 0);
	assert_int_equal(node_segs_member_gone(&tab, 0, 10), -EINVAL);
	assert_snap_same(&s);

	assert_int_equal(node_segs_member_gone(&tab, M1, 10), 0);
	assert_int_equal(node_segs_check(&tab), 0);
	info = stat_ok(a.id);
	assert_int_equal(info.nattch, 1);
	assert_int_equal(info.last_detach_node, M1);
	assert_int_equal(info.dtime, 10);
	assert_int_equal(node_seg_attachments(&tab, a.id, M1, NULL, NULL), 0);
	assert_int_equal(node_seg_attachments(&tab, a.id, M2, NULL, NULL), 1);
	/* The removed segment only M1 held is freed, keys and memory. */
	assert_int_equal(node_seg_stat(&tab, b.id, &info), -ENOENT);
	assert_int_equal(live_over(b.g.start, 8192, NODE_KEY_RW), 0);
	assert_int_equal(live_over(b.g.start, 8192, NODE_KEY_READ), 0);
	assert_int_equal(region_free(), free0 + 8192);
	/* Untouched: another member's segment. */
	info = stat_ok(c.id);
	assert_int_equal(info.nattch, 1);
	assert_int_equal(info.dtime, 0);
	assert_int_equal(info.last_detach_node, 0);

	/* Gone twice: nothing more. */
	snap_take(&s);
	assert_int_equal(node_segs_member_gone(&tab, M1, 11), 0);
	assert_snap_same(&s);

	/* The last attacher of a removed segment leaves. */
	assert_int_equal(node_seg_remove(&tab, 100, a.id, 12), 0);
	assert_int_equal(node_segs_member_gone(&tab, M2, 13), 0);
	assert_int_equal(node_seg_stat(&tab, a.id, &info), -ENOENT);
	assert_int_equal(node_segs_count(&tab), 1);
	assert_int_equal(live_regs(), 2);
}

static void test_freeze_thaw(void **state)
{
	struct node_seg_attach a, b, r;
	struct node_seg_grant g, ro;
	struct node_seg_info info;
	uint64_t old_rw, new_rw;
	struct snap s;

	(void)state;
	a = open_ok(M1, 100, 200, "fz", 4096, NODE_SEG_CREAT, 0666, 1);
	b = open_ok(M2, 101, 200, "fz", 0, NODE_SEG_RDONLY, 0, 1);
	old_rw = a.g.key;

	snap_take(&s);
	assert_int_equal(node_seg_freeze(&tab, M3, a.id, &ro), -EINVAL);
	assert_int_equal(node_seg_freeze(&tab, 0, a.id, &ro), -EINVAL);
	assert_int_equal(node_seg_freeze(&tab, M1, a.id + 1, &ro), -ENOENT);
	assert_int_equal(node_seg_thaw(&tab, M1, a.id), -EINVAL);
	assert_int_equal(node_seg_thaw(&tab, M1, a.id + 1), -ENOENT);
	assert_snap_same(&s);

	/* A read-only attacher may freeze (to save). */
	memset(&ro, 0, sizeof(ro));
	assert_int_equal(node_seg_freeze(&tab, M2, a.id, &ro), 0);
	assert_int_equal(node_segs_check(&tab), 0);
	assert_int_equal(ro.key, b.g.key);
	assert_int_equal(ro.access, NODE_KEY_READ);
	assert_int_equal(ro.start, a.g.start);
	assert_int_equal(ro.len, 4096);
	assert_false(key_live(old_rw));
	assert_true(key_live(b.g.key));
	assert_int_equal(live_regs(), 1);
	info = stat_ok(a.id);
	assert_int_equal(info.frozen, 1);
	assert_int_equal(info.frozen_by, M2);

	/* Writers are held off; readers are not. */
	snap_take(&s);
	assert_int_equal(node_seg_freeze(&tab, M1, a.id, NULL), -EBUSY);
	assert_int_equal(node_seg_freeze(&tab, M2, a.id, NULL), -EBUSY);
	assert_int_equal(open_err(M3, 100, 200, "fz", 0, 0, 0), -EBUSY);
	assert_int_equal(open_err(M3, 100, 200, "fz", 0, NODE_SEG_CREAT, 0600),
			 -EBUSY);
	assert_int_equal(open_err(M3, 999, 999, "fz", 0, 0, 0), -EBUSY);
	/* Errors that come first still come first. */
	assert_int_equal(open_err(M3, 100, 200, "fz", 8192, 0, 0), -EINVAL);
	assert_int_equal(open_err(M3, 100, 200, "fz", 0,
				  NODE_SEG_CREAT | NODE_SEG_EXCL, 0600),
			 -EEXIST);
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start, 1, &g), -EBUSY);
	assert_int_equal(node_seg_grant(&tab, M2, a.g.start, 1, &g), -EACCES);
	assert_int_equal(node_seg_thaw(&tab, M1, a.id), -EPERM);
	assert_snap_same(&s);
	/* A read grant to a read-write attacher gives the read-only key. */
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start + 8, 0, &g), 0);
	assert_int_equal(g.key, b.g.key);
	assert_int_equal(g.access, NODE_KEY_READ);
	r = open_ok(M3, 100, 200, "fz", 0, NODE_SEG_RDONLY, 0, 2);
	assert_int_equal(r.g.key, b.g.key);
	assert_int_equal(node_seg_close(&tab, M3, a.id, 2), 0);

	/* A failed thaw changes nothing: still frozen. */
	snap_take(&s);
	fail_reg_in = 1;
	assert_int_equal(node_seg_thaw(&tab, M2, a.id), -ENOMEM);
	assert_snap_same(&s);

	/* Thaw: a new read/write key, live; the old one stays dead. */
	assert_int_equal(node_seg_thaw(&tab, M2, a.id), 0);
	assert_int_equal(node_segs_check(&tab), 0);
	info = stat_ok(a.id);
	assert_int_equal(info.frozen, 0);
	assert_int_equal(info.frozen_by, 0);
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start, 1, &g), 0);
	new_rw = g.key;
	assert_int_not_equal(new_rw, old_rw);
	assert_true(key_live(new_rw));
	assert_false(key_live(old_rw));
	assert_int_equal(live_over(a.g.start, 4096, NODE_KEY_RW), 1);
	assert_int_equal(live_regs(), 2);
	r = open_ok(M3, 100, 200, "fz", 0, 0, 0, 3);
	assert_int_equal(r.g.key, new_rw);
	assert_int_equal(node_seg_thaw(&tab, M2, a.id), -EINVAL);

	/* The freezer leaves: member_gone thaws. */
	assert_int_equal(node_seg_freeze(&tab, M3, a.id, NULL), 0);
	assert_false(key_live(new_rw));
	assert_int_equal(node_segs_member_gone(&tab, M3, 4), 0);
	info = stat_ok(a.id);
	assert_int_equal(info.frozen, 0);
	assert_int_equal(live_over(a.g.start, 4096, NODE_KEY_RW), 1);
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start, 1, &g), 0);
	assert_true(key_live(g.key));
	assert_int_not_equal(g.key, new_rw);

	/* ...and if that thaw fails, it stays frozen for anyone to thaw. */
	open_ok(M3, 100, 200, "fz", 0, 0, 0, 5);
	assert_int_equal(node_seg_freeze(&tab, M3, a.id, NULL), 0);
	fail_reg_in = 1;
	assert_int_equal(node_segs_member_gone(&tab, M3, 6), -ENOMEM);
	assert_int_equal(node_segs_check(&tab), 0);
	info = stat_ok(a.id);
	assert_int_equal(info.frozen, 1);
	assert_int_equal(info.frozen_by, 0);
	assert_int_equal(node_seg_attachments(&tab, a.id, M3, NULL, NULL), 0);
	assert_int_equal(node_seg_thaw(&tab, M1, a.id), 0);
	assert_int_equal(live_over(a.g.start, 4096, NODE_KEY_RW), 1);

	/* A frozen, removed segment freed at its last detach: no key twice. */
	assert_int_equal(node_seg_freeze(&tab, M1, a.id, NULL), 0);
	assert_int_equal(node_seg_remove(&tab, 100, a.id, 7), 0);
	assert_int_equal(node_seg_close(&tab, M1, a.id, 8), 0);
	assert_int_equal(node_seg_close(&tab, M2, a.id, 8), 0);
	assert_int_equal(node_seg_stat(&tab, a.id, &info), -ENOENT);
	assert_int_equal(live_regs(), 0);
}

static void test_freeze_fini(void **state)
{
	struct node_seg_attach a;

	(void)state;
	/* fini with a frozen segment: only its read-only key is left. */
	a = open_ok(M1, 100, 200, "ff", 4096, NODE_SEG_CREAT, 0600, 1);
	open_ok(M1, 100, 200, "ff2", 4096, NODE_SEG_CREAT, 0600, 1);
	assert_int_equal(node_seg_freeze(&tab, M1, a.id, NULL), 0);
	assert_int_equal(live_regs(), 3);
}

static void test_grant(void **state)
{
	struct node_seg_attach a, b;
	struct node_seg_grant g;

	(void)state;
	a = open_ok(M1, 100, 200, "g1", 100, NODE_SEG_CREAT, 0644, 1);
	b = open_ok(M1, 100, 200, "g2", 4096, NODE_SEG_CREAT, 0644, 1);
	open_ok(M2, 101, 200, "g1", 0, NODE_SEG_RDONLY, 0, 1);

	/* Outside every segment: before, past the end, the gap, far. */
	assert_int_equal(node_seg_grant(&tab, M1, BASE - 1, 0, &g), -EFAULT);
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start + 104, 0, &g),
			 -EFAULT);
	assert_int_equal(node_seg_grant(&tab, M1, b.g.start + 4096, 0, &g),
			 -EFAULT);
	assert_int_equal(node_seg_grant(&tab, M1, UINT64_MAX, 1, &g), -EFAULT);
	assert_int_equal(node_seg_grant(&tab, 0, a.g.start, 0, &g), -EINVAL);
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start, 0, NULL), -EINVAL);

	/* Read-write attacher: the read/write key either way, whole range. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start + 103, 1, &g), 0);
	assert_grant_equal(&g, &a.g);
	assert_int_equal(node_seg_grant(&tab, M1, a.g.start, 0, &g), 0);
	assert_grant_equal(&g, &a.g);
	assert_int_equal(node_seg_grant(&tab, M1, b.g.start + 4095, 1, &g), 0);
	assert_grant_equal(&g, &b.g);

	/* Read-only attacher. */
	assert_int_equal(node_seg_grant(&tab, M2, a.g.start + 50, 1, &g),
			 -EACCES);
	assert_int_equal(node_seg_grant(&tab, M2, a.g.start + 50, 0, &g), 0);
	assert_int_equal(g.access, NODE_KEY_READ);
	assert_int_equal(g.start, a.g.start);
	assert_int_equal(g.len, 104);
	assert_int_equal(reg_of(g.key)->access, NODE_KEY_READ);
	/* Not attached. */
	assert_int_equal(node_seg_grant(&tab, M2, b.g.start, 0, &g), -EACCES);
	assert_int_equal(node_seg_grant(&tab, M3, a.g.start, 0, &g), -EACCES);
}

struct list_ctx {
	uint64_t ids[8];
	int n;
	int stop_at;
};

static int list_one(void *arg, const struct node_seg_info *info)
{
	struct list_ctx *l = arg;

	l->ids[l->n++] = info->id;
	return l->n == l->stop_at ? 42 : 0;
}

static void test_listing(void **state)
{
	struct node_seg_attach a, b, c;
	struct node_seg_info info, again;
	struct list_ctx l = { .stop_at = 0 };

	(void)state;
	assert_int_equal(node_seg_next(&tab, 0, &info), -ENOENT);
	assert_int_equal(node_segs_foreach(&tab, list_one, &l), 0);
	assert_int_equal(l.n, 0);

	a = open_ok(M1, 100, 200, "zeta", 8, NODE_SEG_CREAT, 0600, 1);
	b = open_ok(M1, 100, 200, "alpha", 8, NODE_SEG_CREAT, 0600, 1);
	c = open_ok(M1, 100, 200, "mid", 8, NODE_SEG_CREAT, 0600, 1);
	assert_int_equal(node_seg_remove(&tab, 100, b.id, 2), 0); /* attached */

	assert_int_equal(node_segs_foreach(&tab, list_one, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.ids[0], a.id);
	assert_int_equal(l.ids[1], b.id);
	assert_int_equal(l.ids[2], c.id);
	l.n = 0;
	l.stop_at = 2;
	assert_int_equal(node_segs_foreach(&tab, list_one, &l), 42);
	assert_int_equal(l.n, 2);

	/* Pages by id; the removed one is listed, marked. */
	assert_int_equal(node_seg_next(&tab, 0, &info), 0);
	assert_int_equal(info.id, a.id);
	assert_string_equal(info.name, "zeta");
	assert_int_equal(node_seg_next(&tab, info.id + 1, &info), 0);
	assert_int_equal(info.id, b.id);
	assert_int_equal(info.removed, 1);
	assert_string_equal(info.name, "alpha");
	assert_int_equal(node_seg_next(&tab, info.id + 1, &info), 0);
	assert_int_equal(info.id, c.id);
	memset(&again, 0x5a, sizeof(again));
	assert_int_equal(node_seg_stat(&tab, c.id, &again), 0);
	assert_memory_equal(&again, &info, sizeof(info));
	assert_int_equal(node_seg_next(&tab, info.id + 1, &info), -ENOENT);
}

static void test_fini_releases(void **state)
{
	struct node_seg_attach a;

	(void)state;
	/* Attached, unattached, removed-but-attached, frozen: teardown
	 * checks that fini unregisters every key and frees every byte. */
	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		a = open_ok(M1 + (uint32_t)(i % 3), 100, 200, name,
			    (uint64_t)(i + 1) * 1000, NODE_SEG_CREAT, 0600, i);
		if (i % 4 == 1)
			assert_int_equal(node_seg_close(&tab,
							M1 + (uint32_t)(i % 3),
							a.id, i),
					 0);
		if (i % 4 == 2)
			assert_int_equal(node_seg_remove(&tab, 100, a.id, i),
					 0);
		if (i % 4 == 3)
			assert_int_equal(node_seg_freeze(&tab,
							 M1 + (uint32_t)(i % 3),
							 a.id, NULL),
					 0);
	}
	assert_int_equal(node_segs_count(&tab), 20);
	assert_int_equal(live_regs(), 40 - 5);
}

static void test_reg_failures(void **state)
{
	static const int errs[] = { -EIO, -EINVAL, -ENOMEM, -ENOSPC };
	struct node_seg_attach a;
	struct snap s;

	(void)state;
	open_ok(M1, 100, 200, "keep", 4096, NODE_SEG_CREAT, 0600, 1);
	for (size_t e = 0; e < sizeof(errs) / sizeof(errs[0]); e++) {
		for (int nth = 1; nth <= 2; nth++) {
			snap_take(&s);
			fail_reg_err = errs[e];
			fail_reg_in = nth; /* the RW key, then the RO key */
			assert_int_equal(open_err(M2, 100, 200, "new", 8192,
						  NODE_SEG_CREAT, 0600),
					 -ENOMEM);
			assert_int_equal(fail_reg_in, 0);
			assert_snap_same(&s);
			assert_int_equal(
				node_seg_stat_name(&tab, "new", &s.info[0]),
				-ENOENT);
		}
	}
	/* The next id is not burnt by the failures. */
	a = open_ok(M2, 100, 200, "new", 8192, NODE_SEG_CREAT, 0600, 2);
	assert_int_equal(a.id, 2);
}

static void test_alloc_failures(void **state)
{
	struct node_seg_attach a;
	struct snap s;
	int nth, err;

	(void)state;
	/* Creating: every allocation on the way may fail. */
	open_ok(M1, 100, 200, "keep", 4096, NODE_SEG_CREAT, 0600, 1);
	/* Fragment the region so carving needs allocator metadata. */
	open_ok(M1, 100, 200, "keep2", 100, NODE_SEG_CREAT, 0600, 1);
	for (nth = 1;; nth++) {
		snap_take(&s);
		fail_alloc_in = nth;
		err = node_seg_open(&tab, M2, 100, 200, "new", 8192,
				    NODE_SEG_CREAT, 0600, 2, &a);
		if (!err)
			break;
		fail_alloc_in = 0;
		assert_true(err == -ENOMEM || err == -ENOSPC);
		assert_snap_same(&s);
	}
	fail_alloc_in = 0;
	assert_true(nth > 1);
	assert_int_equal(a.created, 1);
	assert_int_equal(a.id, 3);

	/* Attaching: many members, so the attacher array must grow. */
	for (uint32_t m = 1; m <= 40; m++) {
		for (nth = 1;; nth++) {
			snap_take(&s);
			fail_alloc_in = nth;
			err = node_seg_open(&tab, 100 + m, 100, 200, "new", 0,
					    NODE_SEG_RDONLY, 0, 3, &a);
			if (!err)
				break;
			fail_alloc_in = 0;
			assert_int_equal(err, -ENOMEM);
			assert_snap_same(&s);
		}
		fail_alloc_in = 0;
	}
	assert_int_equal(stat_ok(a.id).nattch, 41);
	assert_int_equal(node_segs_member_gone(&tab, 120, 4), 0);
	assert_int_equal(stat_ok(a.id).nattch, 40);
}

/* splitmix64: deterministic. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * Random operations by a few members on a few names; after each, the
 * invariants hold and every segment in the table has exactly its keys
 * live (one read-only, one read/write unless frozen) and nothing else is
 * live.
 */
static void test_random(void **state)
{
	static const char *names[] = { "r0", "r1", "r2", "r3", "r4" };
	struct node_seg_attach at;
	struct node_seg_grant g;
	struct node_seg_info info;
	int done[9] = { 0 }, op, err;

	(void)state;
	rnd_state = 12345;
	for (int step = 0; step < 20000; step++) {
		uint32_t m = 1 + (uint32_t)(rnd() % 4);
		uint32_t uid = (uint32_t)(rnd() % 3) * 100;
		uint64_t back = rnd() % 6;
		uint64_t id =
			tab.next_id > back + 1 ? tab.next_id - 1 - back : 1;
		int live = 0;

		op = (int)(rnd() % 9);
		switch (op) {
		case 0:
		case 1:
		case 2:
			err = node_seg_open(&tab, m, uid, 7, names[rnd() % 5],
					    rnd() % 20000,
					    (unsigned)(rnd() % 8), 0666, step,
					    &at);
			break;
		case 3:
		case 4:
			err = node_seg_close(&tab, m, id, step);
			break;
		case 5:
			err = node_seg_remove(&tab, uid, id, step);
			break;
		case 6:
			if (rnd() % 2)
				err = node_seg_freeze(&tab, m, id, NULL);
			else
				err = node_seg_thaw(&tab, m, id);
			break;
		case 7:
			if (rnd() % 8 == 0)
				err = node_segs_member_gone(&tab, m, step);
			else
				err = node_seg_set(&tab, uid, id,
						   (uint32_t)(rnd() % 3) * 100,
						   7, 0666, step);
			break;
		default:
			err = node_seg_grant(&tab, m,
					     BASE + rnd() % (256 * KIB),
					     (int)(rnd() % 2), &g);
			break;
		}
		if (!err)
			done[op]++;
		assert_int_equal(node_segs_check(&tab), 0);
		for (uint64_t from = 0; !node_seg_next(&tab, from, &info);
		     from = info.id + 1) {
			assert_int_equal(
				live_over(info.gaddr, info.size, NODE_KEY_READ),
				1);
			assert_int_equal(
				live_over(info.gaddr, info.size, NODE_KEY_RW),
				info.frozen ? 0 : 1);
			live += info.frozen ? 1 : 2;
		}
		assert_int_equal(live_regs(), live);
		if (nr_regs > MAX_REGS - 16)
			break;
	}
	/* Every kind of operation succeeded often enough to mean something. */
	for (op = 0; op < 9; op++)
		assert_true(done[op] > 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_args, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_args, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create_attach, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_perm_matrix, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stat_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_attached, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_remove_unattached, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_member_gone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_freeze_thaw, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_freeze_fini, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_grant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fini_releases, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reg_failures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alloc_failures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_random, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
