/* SPDX-License-Identifier: MIT */
/*
 * test_pools.c - shmnode's table of pools, blocks and owners, against a
 * fake node_keys that records every registration (and can be told to
 * fail one): pool names, flags and sizes, carving from the region and
 * giving back, opens, allocation and release with their keys, the member
 * cap, the grant matrix, ownership changes (new key registered before the
 * old one goes), members leaving, listings, injected failures that must
 * leave everything unchanged, and a long random run against a model.  The
 * region lies at addresses not mapped in this process.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pools.h"

/*
 * Metadata allocation failures: the test links with -Wl,--wrap=malloc, so
 * malloc() calls (the table's and alloc.c's) come here.  fail_malloc_in =
 * n makes the n-th call from now fail.
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

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define REGION_BASE (1 * MIB)
#define REGION_SIZE (16 * MIB)
#define KEY_BASE 0x10000ull

/* ---- the fake node_keys ------------------------------------------- */

struct fake_reg {
	uint64_t gaddr;
	uint64_t len;
	uint64_t key;
	unsigned access;
	int live;
};

enum { CALL_REG, CALL_UNREG };

struct fake_call {
	int op;
	size_t idx; /* into fk.regs */
};

static struct {
	struct fake_reg *regs;
	size_t nr_regs, cap_regs;
	struct fake_call *calls;
	size_t nr_calls, cap_calls;
	size_t nr_live;
	int fail_in;  /* the fail_in-th reg from now fails */
	int fail_err; /* with this */
	void (*on_unreg)(size_t idx);
} fk;

static void fk_log(int op, size_t idx)
{
	if (fk.nr_calls == fk.cap_calls) {
		fk.cap_calls = fk.cap_calls ? 2 * fk.cap_calls : 64;
		fk.calls = realloc(fk.calls, fk.cap_calls * sizeof(*fk.calls));
		assert_non_null(fk.calls);
	}
	fk.calls[fk.nr_calls].op = op;
	fk.calls[fk.nr_calls].idx = idx;
	fk.nr_calls++;
}

static int fake_reg(void *arg, uint64_t gaddr, uint64_t len, unsigned access,
		    void **handle, uint64_t *key)
{
	struct fake_reg *r;
	size_t *box;

	assert_ptr_equal(arg, &fk);
	assert_true(len > 0);
	assert_true(access == NODE_KEY_READ || access == NODE_KEY_RW);
	assert_true(gaddr >= REGION_BASE &&
		    gaddr + len <= REGION_BASE + REGION_SIZE);
	if (fk.fail_in > 0 && --fk.fail_in == 0)
		return fk.fail_err ? fk.fail_err : -ENOMEM;
	if (fk.nr_regs == fk.cap_regs) {
		fk.cap_regs = fk.cap_regs ? 2 * fk.cap_regs : 64;
		fk.regs = realloc(fk.regs, fk.cap_regs * sizeof(*fk.regs));
		assert_non_null(fk.regs);
	}
	r = &fk.regs[fk.nr_regs];
	r->gaddr = gaddr;
	r->len = len;
	r->access = access;
	r->key = KEY_BASE + fk.nr_regs;
	r->live = 1;
	/* The handle: a box with the index (outside the malloc wrapper). */
	box = __real_malloc(sizeof(*box));
	assert_non_null(box);
	*box = fk.nr_regs;
	*handle = box;
	*key = r->key;
	fk_log(CALL_REG, fk.nr_regs);
	fk.nr_regs++;
	fk.nr_live++;
	return 0;
}

static void fake_unreg(void *arg, void *handle)
{
	size_t idx = *(size_t *)handle;

	free(handle);
	assert_ptr_equal(arg, &fk);
	assert_true(idx < fk.nr_regs);
	assert_true(fk.regs[idx].live);
	fk.regs[idx].live = 0;
	fk.nr_live--;
	fk_log(CALL_UNREG, idx);
	if (fk.on_unreg)
		fk.on_unreg(idx);
}

static const struct node_keys fake_keys = {
	.reg = fake_reg,
	.unreg = fake_unreg,
	.arg = &fk,
};

/* The registration behind @key. */
static struct fake_reg *fk_reg(uint64_t key)
{
	assert_true(key >= KEY_BASE && key - KEY_BASE < fk.nr_regs);
	return &fk.regs[key - KEY_BASE];
}

static int key_live(uint64_t key)
{
	return fk_reg(key)->live;
}

/*
 * @g's key is live, has @g's access and covers @g's range (a pool's
 * read-only key covers the whole pool).
 */
static void assert_grant_live(const struct node_grant *g)
{
	struct fake_reg *r = fk_reg(g->key);

	assert_true(r->live);
	assert_int_equal(r->access, g->access);
	assert_true(r->gaddr <= g->start &&
		    g->start + g->len <= r->gaddr + r->len);
	if (g->access == NODE_KEY_RW) {
		assert_int_equal(r->gaddr, g->start);
		assert_int_equal(r->len, g->len);
	}
}

/* ---- environment -------------------------------------------------- */

struct env {
	struct shmx__alloc region;
	struct shmx__alloc_stat region0;
	struct node_pools pp;
};

static void env_init(struct env *e, uint64_t max_pool, uint64_t cap)
{
	struct node_pools_limits lim = { .max_pool_size = max_pool,
					 .member_cap = cap };

	free(fk.regs);
	free(fk.calls);
	memset(&fk, 0, sizeof(fk));
	fail_malloc_in = 0;
	assert_int_equal(shmx__alloc_init(&e->region, REGION_BASE, REGION_SIZE),
			 0);
	shmx__alloc_stat(&e->region, &e->region0);
	assert_int_equal(node_pools_init(&e->pp, &e->region, &fake_keys, &lim),
			 0);
}

/* Tear down: every key unregistered, the region whole again. */
static void env_fini(struct env *e)
{
	struct shmx__alloc_stat st;

	assert_int_equal(node_pools_check(&e->pp), 0);
	fk.on_unreg = NULL;
	node_pools_fini(&e->pp);
	assert_int_equal(fk.nr_live, 0);
	for (size_t i = 0; i < fk.nr_regs; i++)
		assert_false(fk.regs[i].live);
	shmx__alloc_stat(&e->region, &st);
	assert_memory_equal(&st, &e->region0, sizeof(st));
	node_pools_fini(&e->pp); /* harmless twice */
	shmx__alloc_fini(&e->region);
	free(fk.regs);
	free(fk.calls);
	memset(&fk, 0, sizeof(fk));
}

/* Create (or open) pool @name of @size for @m; returns its id. */
static uint64_t mkpool(struct env *e, uint32_t m, const char *name,
		       uint64_t size, struct node_grant *ro)
{
	uint64_t id = 0;

	assert_int_equal(node_pool_open(&e->pp, m, name, size, NODE_POOL_CREAT,
					&id, NULL, ro),
			 0);
	assert_true(id > 0);
	return id;
}

/* Allocate for @m in @pool; returns the block's start. */
static uint64_t mkblock(struct env *e, uint64_t pool, uint32_t m, uint64_t size,
			struct node_grant *g)
{
	struct node_grant tmp;

	if (!g)
		g = &tmp;
	assert_int_equal(node_pool_alloc(&e->pp, pool, m, size, 0, g), 0);
	assert_grant_live(g);
	return g->start;
}

static struct node_pool_info pinfo(struct env *e, uint64_t id)
{
	struct node_pool_info info;

	assert_int_equal(node_pool_stat(&e->pp, id, &info), 0);
	return info;
}

static struct node_block_info binfo(struct env *e, uint64_t start)
{
	struct node_block_info info;

	assert_int_equal(node_block_next(&e->pp, start, &info), 0);
	assert_int_equal(info.start, start);
	return info;
}

/* ---- snapshots: an error must leave everything as it was ------------ */

#define SNAP_POOLS 16
#define SNAP_BLOCKS 1024
#define SNAP_MEMBERS 8 /* members 1..SNAP_MEMBERS - 1 are compared */

struct snap {
	struct node_pool_info pools[SNAP_POOLS];
	uint64_t opens[SNAP_POOLS][SNAP_MEMBERS];
	size_t nr_pools;
	struct node_block_info blocks[SNAP_BLOCKS];
	size_t nr_blocks;
	uint64_t held[SNAP_MEMBERS];
	struct shmx__alloc_stat region;
	uint64_t keys[SNAP_BLOCKS]; /* each block's read/write key */
	size_t nr_regs, nr_live;
};

static struct snap snap_a, snap_b;

static int snap_pool(void *arg, const struct node_pool_info *info)
{
	struct snap *s = arg;

	assert_true(s->nr_pools < SNAP_POOLS);
	s->pools[s->nr_pools++] = *info;
	return 0;
}

static int snap_block(void *arg, const struct node_block_info *info)
{
	struct snap *s = arg;

	assert_true(s->nr_blocks < SNAP_BLOCKS);
	s->blocks[s->nr_blocks++] = *info;
	return 0;
}

static void snap_take(struct env *e, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(node_pools_foreach(&e->pp, snap_pool, s), 0);
	assert_int_equal(node_blocks_foreach(&e->pp, 0, snap_block, s), 0);
	for (size_t i = 0; i < s->nr_pools; i++)
		for (uint32_t m = 1; m < SNAP_MEMBERS; m++)
			s->opens[i][m] =
				node_pool_opens(&e->pp, s->pools[i].id, m);
	for (uint32_t m = 1; m < SNAP_MEMBERS; m++)
		s->held[m] = node_pools_member_held(&e->pp, m);
	for (size_t i = 0; i < s->nr_blocks; i++) {
		struct node_grant g;
		const struct node_block_info *b = &s->blocks[i];
		uint32_t who = b->nr_owners ? b->owners[0] : 1;

		assert_int_equal(node_block_grant(&e->pp, who, b->start, 1, &g),
				 0);
		s->keys[i] = g.key;
	}
	shmx__alloc_stat(&e->region, &s->region);
	s->nr_regs = fk.nr_regs;
	s->nr_live = fk.nr_live;
	assert_int_equal(node_pools_check(&e->pp), 0);
}

/* The table is as in snap_a. */
static void assert_unchanged(struct env *e)
{
	snap_take(e, &snap_b);
	assert_memory_equal(&snap_a, &snap_b, sizeof(snap_a));
}

/* ---- tests -------------------------------------------------------- */

static void test_init_args(void **state)
{
	struct shmx__alloc region;
	struct node_pools pp;
	struct node_keys bad = { 0 };

	(void)state;
	assert_int_equal(shmx__alloc_init(&region, REGION_BASE, REGION_SIZE),
			 0);
	assert_int_equal(node_pools_init(&pp, NULL, &fake_keys, NULL), -EINVAL);
	node_pools_fini(&pp); /* harmless after a failed init */
	assert_int_equal(node_pools_init(&pp, &region, NULL, NULL), -EINVAL);
	assert_int_equal(node_pools_init(&pp, &region, &bad, NULL), -EINVAL);
	assert_int_equal(node_pools_init(&pp, &region, &fake_keys, NULL), 0);
	assert_int_equal(node_pools_check(&pp), 0);
	node_pools_fini(&pp);
	node_pools_fini(&pp);
	shmx__alloc_fini(&region);
}

static void test_open_rules(void **state)
{
	char name[SHMX_NAME_MAX + 1];
	struct node_grant ro, ro2;
	uint64_t id = 0, id2, id3;
	int created = -1;
	struct env e;
	size_t regs;

	(void)state;
	env_init(&e, 1 * MIB, 0);
	/* Arguments. */
	assert_int_equal(node_pool_open(&e.pp, 0, "a", 64, NODE_POOL_CREAT, &id,
					NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_pool_open(&e.pp, 1, NULL, 64, NODE_POOL_CREAT,
					&id, NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_pool_open(&e.pp, 1, "", 64, NODE_POOL_CREAT, &id,
					NULL, NULL),
			 -EINVAL);
	memset(name, 'n', sizeof(name));
	name[SHMX_NAME_MAX] = 0; /* 64 bytes of name is one too many */
	assert_int_equal(node_pool_open(&e.pp, 1, name, 64, NODE_POOL_CREAT,
					&id, NULL, NULL),
			 -EINVAL);
	name[SHMX_NAME_MAX - 1] = 0;
	assert_int_equal(node_pool_open(&e.pp, 1, "tab\there", 64,
					NODE_POOL_CREAT, &id, NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_pool_open(&e.pp, 1, "del\x7f", 64,
					NODE_POOL_CREAT, &id, NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_pool_open(&e.pp, 1, "hi\xc3\xa9", 64,
					NODE_POOL_CREAT, &id, NULL, NULL),
			 -EINVAL);
	assert_int_equal(
		node_pool_open(&e.pp, 1, "a", 64, 0x4, &id, NULL, NULL),
		-EINVAL);
	assert_int_equal(node_pool_open(&e.pp, 1, "a", 64, NODE_POOL_EXCL, &id,
					NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_pool_open(&e.pp, 1, "a", 0, NODE_POOL_CREAT, &id,
					NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_pool_open(&e.pp, 1, "a", 1 * MIB + 1,
					NODE_POOL_CREAT, &id, NULL, NULL),
			 -EFBIG);
	assert_int_equal(node_pool_open(&e.pp, 1, "a", UINT64_MAX,
					NODE_POOL_CREAT, &id, NULL, NULL),
			 -EFBIG);
	assert_int_equal(node_pool_open(&e.pp, 1, "a", 0, 0, &id, NULL, NULL),
			 -ENOENT);
	assert_int_equal(node_pool_open(&e.pp, 1, "a", 64, 0, &id, NULL, NULL),
			 -ENOENT);
	assert_int_equal(fk.nr_regs, 0);
	assert_int_equal(node_pools_check(&e.pp), 0);

	/* Longest name, spaces and punctuation are fine. */
	name[SHMX_NAME_MAX - 2] = '~';
	name[0] = ' ';
	id = mkpool(&e, 1, name, 1 * MIB, NULL);
	assert_int_equal(id, 1);
	assert_string_equal(pinfo(&e, id).name, name);

	/* Create: size rounded, carved at 4096, one read-only key. */
	regs = fk.nr_regs;
	assert_int_equal(node_pool_open(&e.pp, 1, "a", 13,
					NODE_POOL_CREAT | NODE_POOL_EXCL, &id,
					&created, &ro),
			 0);
	assert_int_equal(id, 2);
	assert_int_equal(created, 1);
	assert_int_equal(ro.start % NODE_POOL_ALIGN, 0);
	assert_int_equal(ro.len, 16);
	assert_int_equal(ro.access, NODE_KEY_READ);
	assert_int_equal(ro.epoch, 1);
	assert_int_equal(ro.owned, 0);
	assert_int_equal(fk.nr_regs, regs + 1);
	assert_grant_live(&ro);
	assert_int_equal(pinfo(&e, id).size, 16);
	assert_int_equal(pinfo(&e, id).creator, 1);

	/* Open: size 0 or equal after rounding; CREAT opens too. */
	assert_int_equal(
		node_pool_open(&e.pp, 2, "a", 0, 0, &id2, &created, &ro2), 0);
	assert_int_equal(id2, id);
	assert_int_equal(created, 0);
	assert_memory_equal(&ro, &ro2, sizeof(ro));
	assert_int_equal(node_pool_open(&e.pp, 2, "a", 16, 0, &id2, NULL, NULL),
			 0);
	assert_int_equal(node_pool_open(&e.pp, 2, "a", 9, NODE_POOL_CREAT, &id2,
					&created, NULL),
			 0);
	assert_int_equal(created, 0);
	assert_int_equal(node_pool_open(&e.pp, 1, "a", 16, NODE_POOL_CREAT,
					&id2, NULL, NULL),
			 0);
	assert_int_equal(fk.nr_regs, regs + 1); /* one key per pool */
	/* Mismatch and EXCL. */
	assert_int_equal(node_pool_open(&e.pp, 2, "a", 24, 0, &id2, NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_pool_open(&e.pp, 2, "a", 8, NODE_POOL_CREAT, &id2,
					NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_pool_open(&e.pp, 2, "a", 16,
					NODE_POOL_CREAT | NODE_POOL_EXCL, &id2,
					NULL, NULL),
			 -EEXIST);
	assert_int_equal(node_pool_opens(&e.pp, id, 1), 2);
	assert_int_equal(node_pool_opens(&e.pp, id, 2), 3);
	assert_int_equal(node_pool_opens(&e.pp, id, 3), 0);
	assert_int_equal(node_pool_opens(&e.pp, 999, 1), 0);
	assert_int_equal(pinfo(&e, id).open_count, 2);

	/* Ids are never reused. */
	id2 = mkpool(&e, 1, "b", 64, NULL);
	assert_int_equal(id2, 3);
	assert_int_equal(node_pool_destroy(&e.pp, id2, 1), 0);
	id3 = mkpool(&e, 1, "b", 64, NULL);
	assert_int_equal(id3, 4);
	assert_int_equal(
		node_pool_stat(&e.pp, id2, &(struct node_pool_info){ 0 }),
		-ENOENT);
	env_fini(&e);
}

static void test_carve_destroy(void **state)
{
	struct shmx__alloc_stat rs;
	struct node_pool_info info;
	struct node_grant ro1, ro2;
	uint64_t p1, p2, p3, b;
	struct env e;

	(void)state;
	env_init(&e, 0, 0);
	p1 = mkpool(&e, 1, "p1", 100000, &ro1);
	p2 = mkpool(&e, 1, "p2", 5000, &ro2);
	shmx__alloc_stat(&e.region, &rs);
	assert_int_equal(rs.free, REGION_SIZE - 100000 - 5000);
	assert_int_equal(rs.nr_alloc, 2);
	assert_int_equal(ro2.start % NODE_POOL_ALIGN, 0);
	assert_true(ro1.start + ro1.len <= ro2.start ||
		    ro2.start + ro2.len <= ro1.start);
	info = pinfo(&e, p1);
	assert_int_equal(info.id, p1);
	assert_string_equal(info.name, "p1");
	assert_int_equal(info.base, ro1.start);
	assert_int_equal(info.size, 100000);
	assert_int_equal(info.st.total, 100000);
	assert_int_equal(info.st.free, 100000);
	assert_int_equal(info.st.largest_free, 100000);
	assert_int_equal(info.st.nr_alloc, 0);
	assert_int_equal(info.st.nr_free_blocks, 1);
	assert_int_equal(info.open_count, 1);

	/* No room: the region is left as it was. */
	assert_int_equal(node_pool_open(&e.pp, 1, "huge", REGION_SIZE,
					NODE_POOL_CREAT, &p3, NULL, NULL),
			 -ENOSPC);
	assert_int_equal(
		node_pool_open(&e.pp, 1, "huge", 0, 0, &p3, NULL, NULL),
		-ENOENT);
	shmx__alloc_stat(&e.region, &info.st);
	assert_memory_equal(&info.st, &rs, sizeof(rs));

	/* Destroy: arguments, rights, blocks in the way. */
	assert_int_equal(node_pool_destroy(&e.pp, p1, 0), -EINVAL);
	assert_int_equal(node_pool_destroy(&e.pp, 999, 1), -ENOENT);
	assert_int_equal(node_pool_destroy(&e.pp, p1, 2), -EPERM);
	b = mkblock(&e, p1, 1, 64, NULL);
	assert_int_equal(node_pool_destroy(&e.pp, p1, 1), -EBUSY);
	assert_int_equal(node_block_release(&e.pp, 1, b, NULL), 0);
	/* Another member's opens end with the pool. */
	assert_int_equal(node_pool_open(&e.pp, 2, "p1", 0, 0, &p3, NULL, NULL),
			 0);
	assert_int_equal(node_pool_destroy(&e.pp, p1, 2), 0);
	assert_false(key_live(ro1.key));
	assert_true(key_live(ro2.key));
	assert_int_equal(node_pool_stat(&e.pp, p1, &info), -ENOENT);
	assert_int_equal(node_pool_opens(&e.pp, p1, 1), 0);
	assert_int_equal(node_pool_close(&e.pp, p1, 1), -ENOENT);
	assert_int_equal(node_pool_open(&e.pp, 1, "p1", 0, 0, &p3, NULL, NULL),
			 -ENOENT);
	assert_int_equal(node_pool_destroy(&e.pp, p2, 1), 0);
	assert_int_equal(node_pools_check(&e.pp), 0);
	/* The whole region is back, in one piece. */
	shmx__alloc_stat(&e.region, &rs);
	assert_memory_equal(&rs, &e.region0, sizeof(rs));
	/* And a pool of all of it fits. */
	p3 = mkpool(&e, 1, "all", REGION_SIZE, NULL);
	assert_int_equal(pinfo(&e, p3).base, REGION_BASE);
	env_fini(&e);
}

static void test_open_close(void **state)
{
	struct node_grant g;
	uint64_t p, id;
	struct env e;

	(void)state;
	env_init(&e, 0, 0);
	p = mkpool(&e, 1, "p", 4096, NULL);
	for (uint32_t m = 1; m <= 9; m++)
		assert_int_equal(
			node_pool_open(&e.pp, m, "p", 0, 0, &id, NULL, NULL),
			0);
	assert_int_equal(pinfo(&e, p).open_count, 9);
	assert_int_equal(node_pool_opens(&e.pp, p, 1), 2);
	assert_int_equal(node_pool_close(&e.pp, p, 0), -EINVAL);
	assert_int_equal(node_pool_close(&e.pp, 999, 1), -ENOENT);
	assert_int_equal(node_pool_close(&e.pp, p, 10), -ENOENT);
	assert_int_equal(node_pool_close(&e.pp, p, 1), 0);
	assert_int_equal(pinfo(&e, p).open_count, 9);
	assert_int_equal(node_pool_close(&e.pp, p, 1), 0);
	assert_int_equal(pinfo(&e, p).open_count, 8);
	assert_int_equal(node_pool_close(&e.pp, p, 1), -ENOENT);
	/* Not open: no allocation, no destroy, but stat and grant work. */
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, 8, 0, &g), -EPERM);
	assert_int_equal(node_pool_destroy(&e.pp, p, 1), -EPERM);
	for (uint32_t m = 2; m <= 9; m++)
		assert_int_equal(node_pool_close(&e.pp, p, m), 0);
	/* Nobody has it open: it stays. */
	assert_int_equal(pinfo(&e, p).open_count, 0);
	assert_int_equal(node_pool_open(&e.pp, 3, "p", 0, 0, &id, NULL, NULL),
			 0);
	assert_int_equal(id, p);
	assert_int_equal(node_pools_check(&e.pp), 0);
	env_fini(&e);
}

/* What the pool's allocator said while a block's key was unregistered. */
static struct env *watch_env;
static uint64_t watch_pool, watch_nr_alloc;

static void watch_unreg(size_t idx)
{
	(void)idx;
	watch_nr_alloc = pinfo(watch_env, watch_pool).st.nr_alloc;
}

static void test_alloc_release(void **state)
{
	struct node_grant g, g2;
	uint64_t p, base, b1, b2;
	struct fake_reg *r;
	struct env e;
	int n;

	(void)state;
	env_init(&e, 0, 0);
	p = mkpool(&e, 1, "p", 64 * KIB, NULL);
	base = pinfo(&e, p).base;
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, 0, 0, &g), -EINVAL);
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, 8, 3, &g), -EINVAL);
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, 8, 4, &g), -EINVAL);
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, 8, 2 * MIB, &g), -EINVAL);
	assert_int_equal(node_pool_alloc(&e.pp, p, 0, 8, 8, &g), -EINVAL);
	assert_int_equal(node_pool_alloc(&e.pp, 999, 1, 8, 8, &g), -ENOENT);
	assert_int_equal(node_pool_alloc(&e.pp, p, 2, 8, 8, &g), -EPERM);
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, 64 * KIB + 1, 8, &g),
			 -ENOMEM);
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, UINT64_MAX, 8, &g),
			 -ENOMEM);
	assert_int_equal(fk.nr_regs, 1);

	/* A block and its read/write key. */
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, 100, 0, &g), 0);
	assert_true(g.start >= base && g.start + g.len <= base + 64 * KIB);
	assert_int_equal(g.len, 104);
	assert_int_equal(g.access, NODE_KEY_RW);
	assert_int_equal(g.epoch, 1);
	assert_int_equal(g.owned, 0);
	r = fk_reg(g.key);
	assert_int_equal(r->gaddr, g.start);
	assert_int_equal(r->len, 104);
	assert_int_equal(r->access, NODE_KEY_RW);
	assert_int_equal(fk.nr_live, 2);
	assert_int_equal(node_pools_member_held(&e.pp, 1), 104);
	assert_int_equal(pinfo(&e, p).st.nr_alloc, 1);
	assert_int_equal(binfo(&e, g.start).creator, 1);
	assert_int_equal(binfo(&e, g.start).holder, 1);
	assert_int_equal(binfo(&e, g.start).pool, p);
	b1 = g.start;
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, 1000, 4096, &g2), 0);
	assert_int_equal(g2.start % 4096, 0);
	assert_int_equal(g2.len, 1000);
	assert_int_not_equal(g2.key, g.key);
	b2 = g2.start;
	assert_int_equal(node_pools_member_held(&e.pp, 1), 1104);

	/* Release: the key goes while the block is still allocated. */
	watch_env = &e;
	watch_pool = p;
	watch_nr_alloc = 0;
	fk.on_unreg = watch_unreg;
	assert_int_equal(node_block_release(&e.pp, 1, b1, NULL), 0);
	fk.on_unreg = NULL;
	assert_int_equal(watch_nr_alloc, 2);
	assert_int_equal(fk.calls[fk.nr_calls - 1].op, CALL_UNREG);
	assert_false(key_live(g.key));
	assert_true(key_live(g2.key));
	assert_int_equal(pinfo(&e, p).st.nr_alloc, 1);
	assert_int_equal(node_pools_member_held(&e.pp, 1), 1000);
	assert_int_equal(node_block_release(&e.pp, 1, b2, NULL), 0);
	assert_int_equal(node_pools_member_held(&e.pp, 1), 0);
	assert_int_equal(pinfo(&e, p).st.free, 64 * KIB);
	assert_int_equal(fk.nr_live, 1);

	/* Fill it up, then an error changes nothing. */
	for (n = 0; node_pool_alloc(&e.pp, p, 1, 4096, 0, &g) == 0; n++)
		assert_grant_live(&g);
	assert_int_equal(n, 16);
	snap_take(&e, &snap_a);
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, 8, 0, &g), -ENOMEM);
	assert_unchanged(&e);
	/* fini drops every block's key and the pool's. */
	env_fini(&e);
}

static void test_reg_failure(void **state)
{
	uint32_t owners[] = { 2 };
	struct node_grant g, g2;
	uint64_t p, b, id;
	struct env e;

	(void)state;
	env_init(&e, 0, 0);
	/* Creating a pool: its key fails, no trace is left. */
	snap_take(&e, &snap_a);
	fk.fail_in = 1;
	fk.fail_err = -EIO;
	assert_int_equal(node_pool_open(&e.pp, 1, "p", 4096, NODE_POOL_CREAT,
					&id, NULL, NULL),
			 -ENOMEM);
	assert_unchanged(&e);
	assert_int_equal(node_pool_open(&e.pp, 1, "p", 0, 0, &id, NULL, NULL),
			 -ENOENT);
	p = mkpool(&e, 1, "p", 4096, NULL);
	assert_int_equal(p, 1); /* the failure used no id */
	assert_int_equal(node_pool_open(&e.pp, 2, "p", 0, 0, &id, NULL, NULL),
			 0);

	/* Allocating: the block goes back, nothing is charged. */
	snap_take(&e, &snap_a);
	fk.fail_in = 1;
	assert_int_equal(node_pool_alloc(&e.pp, p, 1, 64, 0, &g), -ENOMEM);
	assert_unchanged(&e);
	assert_int_equal(node_pools_member_held(&e.pp, 1), 0);
	b = mkblock(&e, p, 1, 64, &g);

	/* Owning, transferring, disowning: the old key stays. */
	snap_take(&e, &snap_a);
	fk.fail_in = 1;
	assert_int_equal(node_block_own(&e.pp, 1, b, owners, 1, &g2), -ENOMEM);
	assert_unchanged(&e);
	assert_true(key_live(g.key));
	assert_int_equal(binfo(&e, b).epoch, 1);
	assert_int_equal(node_block_own(&e.pp, 1, b, owners, 1, &g2), 0);
	snap_take(&e, &snap_a);
	fk.fail_in = 1;
	owners[0] = 3;
	assert_int_equal(node_block_own_transfer(&e.pp, 2, b, owners, 1, &g),
			 -ENOMEM);
	assert_unchanged(&e);
	fk.fail_in = 1;
	assert_int_equal(node_block_disown(&e.pp, 2, b, &g), -ENOMEM);
	assert_unchanged(&e);
	assert_int_equal(binfo(&e, b).epoch, 2);
	env_fini(&e);
}

/*
 * Run @op with the n-th malloc failing, for n = 1, 2, ... until it
 * succeeds: every -ENOMEM on the way must leave the table unchanged.
 */
#define UNTIL_NO_ENOMEM(e, call)                                               \
	do {                                                                   \
		int ret_, n_;                                                  \
		for (n_ = 1;; n_++) {                                          \
			snap_take(e, &snap_a);                                 \
			fail_malloc_in = n_;                                   \
			ret_ = (call);                                         \
			fail_malloc_in = 0;                                    \
			if (ret_ != -ENOMEM)                                   \
				break;                                         \
			assert_unchanged(e);                                   \
		}                                                              \
		assert_int_equal(ret_, 0);                                     \
		assert_true(n_ > 1);                                           \
	} while (0)

static void test_malloc_failure(void **state)
{
	uint32_t owners[] = { 3, 1 };
	struct node_grant g;
	uint64_t p = 0, id, b = 0;
	struct env e;

	(void)state;
	env_init(&e, 0, 0);
	UNTIL_NO_ENOMEM(&e, node_pool_open(&e.pp, 1, "p", 64 * KIB,
					   NODE_POOL_CREAT, &p, NULL, NULL));
	/* The fifth opener grows the openers' array. */
	for (uint32_t m = 2; m <= 4; m++)
		assert_int_equal(
			node_pool_open(&e.pp, m, "p", 0, 0, &id, NULL, NULL),
			0);
	UNTIL_NO_ENOMEM(&e,
			node_pool_open(&e.pp, 5, "p", 0, 0, &id, NULL, NULL));
	/* A first block (charge record, block record, alloc.c's split). */
	UNTIL_NO_ENOMEM(&e, node_pool_alloc(&e.pp, p, 2, 100, 64, &g));
	b = g.start;
	assert_grant_live(&g);
	UNTIL_NO_ENOMEM(&e, node_block_own(&e.pp, 2, b, owners, 2, &g));
	UNTIL_NO_ENOMEM(&e,
			node_block_own_transfer(&e.pp, 3, b, owners, 1, &g));
	assert_int_equal(binfo(&e, b).epoch, 3);
	env_fini(&e);
}

static void test_cap(void **state)
{
	struct node_grant g;
	uint64_t a, b, id, x;
	struct env e;

	(void)state;
	env_init(&e, 0, 4096);
	a = mkpool(&e, 1, "a", 64 * KIB, NULL);
	b = mkpool(&e, 1, "b", 64 * KIB, NULL);
	assert_int_equal(node_pool_open(&e.pp, 2, "b", 0, 0, &id, NULL, NULL),
			 0);
	mkblock(&e, a, 1, 4000, NULL);
	/* The cap spans pools; lengths count after rounding. */
	snap_take(&e, &snap_a);
	assert_int_equal(node_pool_alloc(&e.pp, b, 1, 97, 0, &g), -EDQUOT);
	assert_unchanged(&e);
	x = mkblock(&e, b, 1, 96, NULL);
	assert_int_equal(node_pools_member_held(&e.pp, 1), 4096);
	assert_int_equal(node_pool_alloc(&e.pp, a, 1, 1, 0, &g), -EDQUOT);
	/* Other members have their own. */
	assert_int_equal(node_pool_alloc(&e.pp, b, 2, 4097, 0, &g), -EDQUOT);
	mkblock(&e, b, 2, 4096, NULL);
	/* Releasing gives it back. */
	assert_int_equal(node_block_release(&e.pp, 1, x, NULL), 0);
	assert_int_equal(node_pools_member_held(&e.pp, 1), 4000);
	x = mkblock(&e, a, 1, 96, NULL);
	/* A member that leaves is no longer charged, its blocks stay. */
	node_pools_member_gone(&e.pp, 1);
	assert_int_equal(node_pools_member_held(&e.pp, 1), 0);
	assert_int_equal(node_pools_member_held(&e.pp, 2), 4096);
	assert_int_equal(pinfo(&e, a).st.nr_alloc, 2);
	assert_int_equal(binfo(&e, x).holder, 0);
	assert_int_equal(binfo(&e, x).creator, 1);
	/* Id 1 comes back as a new member with the whole cap. */
	assert_int_equal(node_pool_open(&e.pp, 1, "a", 0, 0, &id, NULL, NULL),
			 0);
	mkblock(&e, a, 1, 4096, NULL);
	assert_int_equal(node_pools_check(&e.pp), 0);
	env_fini(&e);
}

static void test_release_errors(void **state)
{
	uint32_t two[] = { 2 };
	uint64_t p, id, base, b1, b2, b3;
	struct node_grant g;
	struct env e;

	(void)state;
	env_init(&e, 0, 0);
	p = mkpool(&e, 1, "p", 4096, NULL);
	assert_int_equal(node_pool_open(&e.pp, 2, "p", 0, 0, &id, NULL, NULL),
			 0);
	base = pinfo(&e, p).base;
	b1 = mkblock(&e, p, 1, 64, NULL);
	snap_take(&e, &snap_a);
	assert_int_equal(node_block_release(&e.pp, 1, base - 8, NULL), -ENOENT);
	assert_int_equal(node_block_release(&e.pp, 1, base + 4096, NULL),
			 -ENOENT);
	assert_int_equal(node_block_release(&e.pp, 1, UINT64_MAX, NULL),
			 -ENOENT);
	assert_int_equal(node_block_release(&e.pp, 1, b1 + 64, NULL), -ENOENT);
	assert_int_equal(node_block_release(&e.pp, 1, b1 + 8, NULL), -EINVAL);
	assert_int_equal(node_block_release(&e.pp, 1, b1 + 63, NULL), -EINVAL);
	assert_int_equal(node_block_release(&e.pp, 0, b1, NULL), -EINVAL);
	assert_int_equal(node_block_release(&e.pp, 2, b1, NULL), -EPERM);
	assert_unchanged(&e);
	assert_int_equal(node_block_release(&e.pp, 1, b1, NULL), 0);
	assert_int_equal(node_block_release(&e.pp, 1, b1, NULL), -ENOENT);

	/* Owned: only the owners, not even the allocator. */
	b2 = mkblock(&e, p, 1, 64, NULL);
	assert_int_equal(node_block_own(&e.pp, 1, b2, two, 1, &g), 0);
	assert_int_equal(node_block_release(&e.pp, 1, b2, NULL), -EPERM);
	assert_int_equal(node_block_release(&e.pp, 3, b2, NULL), -EPERM);
	assert_int_equal(node_pools_member_held(&e.pp, 1), 64);
	assert_int_equal(node_block_release(&e.pp, 2, b2, NULL), 0);
	/* The allocator is uncharged, whoever released it. */
	assert_int_equal(node_pools_member_held(&e.pp, 1), 0);

	/* An orphan (allocator gone, unowned): anyone may. */
	b3 = mkblock(&e, p, 1, 64, NULL);
	node_pools_member_gone(&e.pp, 1);
	assert_int_equal(node_block_release(&e.pp, 3, b3, NULL), 0);
	assert_int_equal(pinfo(&e, p).st.nr_alloc, 0);
	env_fini(&e);
}

static void test_grant_matrix(void **state)
{
	uint32_t owners[] = { 2, 1 };
	struct node_grant ro, g, a;
	uint64_t p, base, b;
	struct env e;

	(void)state;
	env_init(&e, 0, 0);
	p = mkpool(&e, 1, "p", 4096, &ro);
	base = pinfo(&e, p).base;
	b = mkblock(&e, p, 1, 256, &a);
	/* Outside every pool, free space, member 0. */
	assert_int_equal(node_block_grant(&e.pp, 1, base - 1, 0, &g), -EFAULT);
	assert_int_equal(node_block_grant(&e.pp, 1, base + 4096, 0, &g),
			 -EFAULT);
	assert_int_equal(node_block_grant(&e.pp, 1, 0, 1, &g), -EFAULT);
	assert_int_equal(node_block_grant(&e.pp, 1, b + 256, 0, &g), -EFAULT);
	assert_int_equal(node_block_grant(&e.pp, 1, b + 256, 1, &g), -EFAULT);
	assert_int_equal(node_block_grant(&e.pp, 0, b, 0, &g), -EINVAL);

	/* Unowned: the read/write key over the block, for anyone. */
	for (uint32_t m = 1; m <= 3; m++) {
		for (int w = 0; w <= 1; w++) {
			memset(&g, 0xa5, sizeof(g));
			assert_int_equal(
				node_block_grant(&e.pp, m, b + 100, w, &g), 0);
			assert_memory_equal(&g, &a, sizeof(g));
		}
	}

	/* Owned by {1, 2}. */
	assert_int_equal(node_block_own(&e.pp, 1, b, owners, 2, &a), 0);
	assert_int_equal(a.access, NODE_KEY_RW);
	assert_int_equal(a.owned, 1);
	assert_int_equal(a.epoch, 2);
	assert_grant_live(&a);
	for (uint32_t m = 1; m <= 2; m++) {
		for (int w = 0; w <= 1; w++) {
			memset(&g, 0xa5, sizeof(g));
			assert_int_equal(
				node_block_grant(&e.pp, m, b + 255, w, &g), 0);
			assert_memory_equal(&g, &a, sizeof(g));
		}
	}
	/* A non-owner reads through the pool's key, over the block. */
	assert_int_equal(node_block_grant(&e.pp, 3, b + 8, 0, &g), 0);
	assert_int_equal(g.start, b);
	assert_int_equal(g.len, 256);
	assert_int_equal(g.key, ro.key);
	assert_int_equal(g.access, NODE_KEY_READ);
	assert_int_equal(g.epoch, 2);
	assert_int_equal(g.owned, 1);
	assert_grant_live(&g);
	assert_int_equal(node_block_grant(&e.pp, 3, b + 8, 1, &g), -EACCES);
	env_fini(&e);
}

/* The last two key calls: a reg over @start/@len, then unreg of @old. */
static void assert_rekeyed(uint64_t start, uint64_t len, uint64_t old_key,
			   size_t calls_before)
{
	struct fake_reg *r;

	assert_int_equal(fk.nr_calls, calls_before + 2);
	assert_int_equal(fk.calls[calls_before].op, CALL_REG);
	assert_int_equal(fk.calls[calls_before + 1].op, CALL_UNREG);
	r = &fk.regs[fk.calls[calls_before].idx];
	assert_int_equal(r->gaddr, start);
	assert_int_equal(r->len, len);
	assert_int_equal(r->access, NODE_KEY_RW);
	assert_true(r->live);
	assert_int_equal(fk.regs[fk.calls[calls_before + 1].idx].key, old_key);
	assert_false(key_live(old_key));
}

static void test_ownership(void **state)
{
	uint32_t bad_dup[] = { 1, 2, 1 }, bad_zero[] = { 1, 0 };
	uint32_t set12[] = { 2, 1 }, set24[] = { 4, 2 };
	uint32_t many[SHMX_OWNERS_MAX + 1];
	struct node_grant ro, a, g;
	struct node_block_info bi;
	uint64_t p, b, free_addr, old;
	struct env e;
	size_t calls;

	(void)state;
	env_init(&e, 0, 0);
	p = mkpool(&e, 1, "p", 4096, &ro);
	b = mkblock(&e, p, 1, 64, &a);
	free_addr = b + 64;
	for (uint32_t i = 0; i <= SHMX_OWNERS_MAX; i++)
		many[i] = 1000 - i;

	snap_take(&e, &snap_a);
	assert_int_equal(node_block_own(&e.pp, 0, b, set12, 2, &g), -EINVAL);
	assert_int_equal(node_block_own(&e.pp, 1, b, NULL, 2, &g), -EINVAL);
	assert_int_equal(node_block_own(&e.pp, 1, b, set12, 0, &g), -EINVAL);
	assert_int_equal(
		node_block_own(&e.pp, 1, b, many, SHMX_OWNERS_MAX + 1, &g),
		-EINVAL);
	assert_int_equal(node_block_own(&e.pp, 1, b, bad_dup, 3, &g), -EINVAL);
	assert_int_equal(node_block_own(&e.pp, 1, b, bad_zero, 2, &g), -EINVAL);
	assert_int_equal(node_block_own(&e.pp, 1, b + 8, set12, 2, &g),
			 -EINVAL);
	assert_int_equal(node_block_own(&e.pp, 1, free_addr, set12, 2, &g),
			 -ENOENT);
	assert_int_equal(node_block_own_transfer(&e.pp, 1, b, set12, 2, &g),
			 -EPERM);
	assert_int_equal(node_block_disown(&e.pp, 1, b, &g), -EPERM);
	assert_int_equal(node_block_disown(&e.pp, 1, b + 8, &g), -EINVAL);
	assert_int_equal(node_block_disown(&e.pp, 1, free_addr, &g), -ENOENT);
	assert_int_equal(node_block_disown(&e.pp, 0, b, &g), -EINVAL);
	assert_unchanged(&e);

	/* Any member may own an unowned block, for others. */
	calls = fk.nr_calls;
	assert_int_equal(node_block_own(&e.pp, 3, b, set12, 2, &g), 0);
	assert_rekeyed(b, 64, a.key, calls);
	assert_int_equal(g.access, NODE_KEY_READ); /* 3 is not an owner */
	assert_int_equal(g.key, ro.key);
	assert_int_equal(g.epoch, 2);
	assert_int_equal(g.owned, 1);
	bi = binfo(&e, b);
	assert_int_equal(bi.epoch, 2);
	assert_int_equal(bi.nr_owners, 2);
	assert_int_equal(bi.owners[0], 1);
	assert_int_equal(bi.owners[1], 2);
	assert_int_equal(node_block_grant(&e.pp, 1, b, 1, &a), 0);
	assert_int_equal(a.key, fk.regs[fk.calls[calls].idx].key);
	assert_int_equal(node_block_own(&e.pp, 1, b, set24, 2, &g), -EBUSY);

	/* Transfer: owners only; the old owners lose the key. */
	assert_int_equal(node_block_own_transfer(&e.pp, 3, b, set24, 2, &g),
			 -EPERM);
	calls = fk.nr_calls;
	old = a.key;
	assert_int_equal(node_block_own_transfer(&e.pp, 1, b, set24, 2, &g), 0);
	assert_rekeyed(b, 64, old, calls);
	assert_int_equal(g.access, NODE_KEY_READ);
	assert_int_equal(g.epoch, 3);
	assert_int_equal(node_block_grant(&e.pp, 1, b, 1, &g), -EACCES);
	assert_int_equal(node_block_grant(&e.pp, 4, b, 1, &a), 0);
	assert_int_equal(a.epoch, 3);
	/* Transfer to itself: still a new key. */
	calls = fk.nr_calls;
	assert_int_equal(node_block_own_transfer(&e.pp, 4, b, set24, 2, &g), 0);
	assert_rekeyed(b, 64, a.key, calls);
	assert_int_equal(g.access, NODE_KEY_RW);
	assert_int_equal(g.epoch, 4);
	a = g;
	/* The largest owner set. */
	calls = fk.nr_calls;
	assert_int_equal(
		node_block_own_transfer(&e.pp, 2, b, many, SHMX_OWNERS_MAX, &g),
		0);
	assert_rekeyed(b, 64, a.key, calls);
	bi = binfo(&e, b);
	assert_int_equal(bi.nr_owners, SHMX_OWNERS_MAX);
	for (uint32_t i = 0; i < SHMX_OWNERS_MAX; i++)
		assert_int_equal(bi.owners[i], 1000 - SHMX_OWNERS_MAX + 1 + i);
	assert_int_equal(bi.epoch, 5);

	/* Disown: owners only; then everyone writes again. */
	assert_int_equal(node_block_disown(&e.pp, 2, b, &g), -EPERM);
	assert_int_equal(node_block_grant(&e.pp, 999, b, 1, &a), 0);
	calls = fk.nr_calls;
	assert_int_equal(node_block_disown(&e.pp, 999, b, &g), 0);
	assert_rekeyed(b, 64, a.key, calls);
	assert_int_equal(g.access, NODE_KEY_RW);
	assert_int_equal(g.owned, 0);
	assert_int_equal(g.epoch, 6);
	assert_int_equal(node_block_grant(&e.pp, 7, b, 1, &a), 0);
	assert_memory_equal(&a, &g, sizeof(g));
	assert_int_equal(node_block_disown(&e.pp, 999, b, &g), -EPERM);
	assert_int_equal(binfo(&e, b).nr_owners, 0);
	/* Owned again, then released by an owner: both keys are gone. */
	assert_int_equal(node_block_own(&e.pp, 2, b, set12, 2, &g), 0);
	assert_int_equal(node_block_release(&e.pp, 2, b, NULL), 0);
	assert_int_equal(fk.nr_live, 1);
	env_fini(&e);
}

static void test_member_gone(void **state)
{
	uint32_t s1[] = { 1 }, s12[] = { 1, 2 }, s23[] = { 2, 3 }, s3[] = { 3 };
	struct node_grant ga, gb, gc, gd, ge, g;
	uint64_t p, id, a, b, c, d, x;
	struct node_block_info bi;
	size_t live;
	struct env e;

	(void)state;
	env_init(&e, 0, 0);
	p = mkpool(&e, 1, "p", 64 * KIB, NULL);
	for (uint32_t m = 1; m <= 3; m++)
		assert_int_equal(
			node_pool_open(&e.pp, m, "p", 0, 0, &id, NULL, NULL),
			0);
	a = mkblock(&e, p, 1, 64, &ga);
	b = mkblock(&e, p, 1, 64, NULL);
	c = mkblock(&e, p, 2, 64, NULL);
	d = mkblock(&e, p, 2, 64, NULL);
	assert_int_equal(node_block_own(&e.pp, 1, b, s1, 1, &gb), 0);
	assert_int_equal(node_block_own(&e.pp, 2, c, s12, 2, &gc), 0);
	assert_int_equal(node_block_own(&e.pp, 2, d, s23, 2, &gd), 0);

	/* Unknown members and 0 change nothing. */
	snap_take(&e, &snap_a);
	node_pools_member_gone(&e.pp, 0);
	node_pools_member_gone(&e.pp, 77);
	assert_unchanged(&e);

	live = fk.nr_live;
	node_pools_member_gone(&e.pp, 1);
	assert_int_equal(fk.nr_live, live);
	assert_int_equal(node_pool_opens(&e.pp, p, 1), 0);
	assert_int_equal(pinfo(&e, p).open_count, 2);
	assert_int_equal(node_pools_member_held(&e.pp, 1), 0);
	assert_int_equal(node_pools_member_held(&e.pp, 2), 128);
	/* a: stays, orphaned, same key and epoch. */
	bi = binfo(&e, a);
	assert_int_equal(bi.holder, 0);
	assert_int_equal(bi.epoch, 1);
	assert_int_equal(node_block_grant(&e.pp, 5, a, 1, &g), 0);
	assert_memory_equal(&g, &ga, sizeof(g));
	/* b: its only owner left: unowned, new key, epoch + 1. */
	bi = binfo(&e, b);
	assert_int_equal(bi.nr_owners, 0);
	assert_int_equal(bi.epoch, 3);
	assert_false(key_live(gb.key));
	assert_int_equal(node_block_grant(&e.pp, 5, b, 1, &g), 0);
	assert_int_equal(g.owned, 0);
	assert_int_not_equal(g.key, gb.key);
	assert_grant_live(&g);
	/* c: 1 is out of the owner set: new key, epoch + 1. */
	bi = binfo(&e, c);
	assert_int_equal(bi.nr_owners, 1);
	assert_int_equal(bi.owners[0], 2);
	assert_int_equal(bi.epoch, 3);
	assert_false(key_live(gc.key));
	assert_int_equal(node_block_grant(&e.pp, 2, c, 1, &g), 0);
	assert_int_equal(g.epoch, 3);
	assert_grant_live(&g);
	assert_int_equal(node_block_grant(&e.pp, 1, c, 1, &g), -EACCES);
	/* d: untouched. */
	assert_int_equal(node_block_grant(&e.pp, 3, d, 1, &g), 0);
	assert_memory_equal(&g, &gd, sizeof(g));

	/* A key that cannot be registered: the block keeps its old one. */
	x = mkblock(&e, p, 3, 64, NULL);
	assert_int_equal(node_block_own(&e.pp, 3, x, s3, 1, &ge), 0);
	live = fk.nr_live;
	fk.fail_in = 1; /* d is first in address order */
	node_pools_member_gone(&e.pp, 3);
	assert_int_equal(fk.nr_live, live);
	assert_int_equal(node_block_grant(&e.pp, 2, d, 1, &g), 0);
	assert_int_equal(g.key, gd.key); /* kept */
	assert_int_equal(g.epoch, 3);
	assert_int_equal(binfo(&e, d).nr_owners, 1);
	assert_int_equal(node_block_grant(&e.pp, 9, x, 1, &g), 0);
	assert_int_not_equal(g.key, ge.key);
	assert_int_equal(g.epoch, 3);
	assert_int_equal(g.owned, 0);
	assert_int_equal(node_pools_check(&e.pp), 0);
	env_fini(&e);
}

/* Collects up to 64 block starts; stops with 7 after @stop_after. */
struct collect {
	uint64_t starts[64];
	size_t n, stop_after;
};

static int collect_block(void *arg, const struct node_block_info *info)
{
	struct collect *c = arg;

	assert_true(c->n < 64);
	c->starts[c->n++] = info->start;
	return c->n == c->stop_after ? 7 : 0;
}

static int count_pool(void *arg, const struct node_pool_info *info)
{
	(void)info;
	return ++*(int *)arg == 2 ? 9 : 0;
}

static void test_listing(void **state)
{
	struct collect all = { .stop_after = 0 }, some = { .stop_after = 3 };
	struct node_block_info bi;
	struct node_pool_info pi;
	uint64_t p[3], at, id;
	size_t n = 0;
	int count = 0;
	struct env e;

	(void)state;
	env_init(&e, 0, 0);
	assert_int_equal(node_pool_next(&e.pp, 0, &pi), -ENOENT);
	assert_int_equal(node_block_next(&e.pp, 0, &bi), -ENOENT);
	p[0] = mkpool(&e, 1, "x", 4096, NULL);
	p[1] = mkpool(&e, 1, "y", 4096, NULL);
	p[2] = mkpool(&e, 1, "z", 4096, NULL);
	for (int i = 0; i < 4; i++) {
		mkblock(&e, p[0], 1, 8 + 8 * i, NULL);
		mkblock(&e, p[2], 1, 16, NULL);
	}
	/* Pools by id. */
	for (id = 0; node_pool_next(&e.pp, id, &pi) == 0; id = pi.id + 1)
		assert_int_equal(pi.id, p[n++]);
	assert_int_equal(n, 3);
	assert_int_equal(node_pools_foreach(&e.pp, count_pool, &count), 9);
	/* Blocks by address, across pools (the empty one is skipped). */
	assert_int_equal(node_blocks_foreach(&e.pp, 0, collect_block, &all), 0);
	assert_int_equal(all.n, 8);
	n = 0;
	for (at = 0; node_block_next(&e.pp, at, &bi) == 0; at = bi.start + 1) {
		assert_int_equal(bi.start, all.starts[n]);
		if (n)
			assert_true(all.starts[n - 1] < bi.start);
		n++;
	}
	assert_int_equal(n, 8);
	assert_int_equal(node_blocks_foreach(&e.pp, p[0], collect_block, &some),
			 7);
	assert_int_equal(some.n, 3);
	some.n = 0;
	some.stop_after = 0;
	assert_int_equal(node_blocks_foreach(&e.pp, p[1], collect_block, &some),
			 0);
	assert_int_equal(some.n, 0);
	assert_int_equal(node_blocks_foreach(&e.pp, 999, collect_block, &some),
			 -ENOENT);
	env_fini(&e);
}

/* ---- random operations against a model ---------------------------- */

#define RM 6	       /* members 1..RM */
#define RP 4	       /* pool names */
#define RB 512	       /* most blocks */
#define RCAP 12000     /* member cap */
#define ELAST_SEEN 256 /* errno values counted */

static uint64_t rnd_state;
static int rnd_injected; /* a failure is armed for this operation */

/* Which operation rnd_op ran, to see that each one succeeds sometimes. */
enum {
	K_OPEN,
	K_CLOSE,
	K_DESTROY,
	K_ALLOC,
	K_RELEASE,
	K_GRANT,
	K_OWN,
	K_GONE,
	K_MAX
};
static int rnd_kind;

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

struct mpool {
	int exists;
	uint64_t id, base, size, ro_key;
	uint64_t opens[RM + 1];
};

struct mblock {
	uint64_t start, len, key, epoch;
	int pool;
	uint32_t creator, holder;
	unsigned owners; /* bit m: member m owns it */
};

static struct {
	struct mpool pools[RP];
	struct mblock blocks[RB];
	int nr_blocks;
	uint64_t held[RM + 1];
	uint64_t stale_id; /* a destroyed pool's id */
} md;

static const char *const rpool_names[RP] = { "r0", "r1", "r2", "r3" };
static const uint64_t rpool_sizes[RP] = { 4096, 16 * KIB, 64 * KIB, 8200 };

/* The model block holding @addr, or NULL. */
static struct mblock *m_block_at(uint64_t addr)
{
	for (int i = 0; i < md.nr_blocks; i++)
		if (addr - md.blocks[i].start < md.blocks[i].len)
			return &md.blocks[i];
	return NULL;
}

static void m_block_remove(struct mblock *b)
{
	*b = md.blocks[--md.nr_blocks];
}

static int m_blocks_in(int pool)
{
	int n = 0;

	for (int i = 0; i < md.nr_blocks; i++)
		n += md.blocks[i].pool == pool;
	return n;
}

/* An address: mostly block starts, some middles, free space, outside. */
static uint64_t rnd_addr(void)
{
	uint64_t r = rnd_below(10);

	if (md.nr_blocks && r < 6) {
		struct mblock *b = &md.blocks[rnd_below(md.nr_blocks)];

		return r < 5 ? b->start : b->start + rnd_below(b->len);
	}
	if (r < 9) {
		struct mpool *p = &md.pools[rnd_below(RP)];

		if (p->exists)
			return p->base + rnd_below(p->size);
	}
	return rnd_below(2) ? REGION_BASE - 8 - rnd_below(64)
			    : REGION_BASE + REGION_SIZE + rnd_below(4096);
}

static int start_cmp(const void *x, const void *y)
{
	const struct node_block_info *a = x, *b = y;

	return (a->start > b->start) - (a->start < b->start);
}

static struct node_block_info m_sorted[RB];

/* The table agrees with the model. */
static void m_check(struct env *e)
{
	size_t nr_pools = 0;

	snap_take(e, &snap_b);
	for (int i = 0; i < RP; i++) {
		struct mpool *mp = &md.pools[i];
		struct node_pool_info pi;
		uint32_t opened = 0;

		if (!mp->exists)
			continue;
		nr_pools++;
		pi = pinfo(e, mp->id);
		assert_string_equal(pi.name, rpool_names[i]);
		assert_int_equal(pi.base, mp->base);
		assert_int_equal(pi.size, mp->size);
		assert_int_equal(pi.st.nr_alloc, m_blocks_in(i));
		for (uint32_t m = 1; m <= RM; m++) {
			assert_int_equal(node_pool_opens(&e->pp, mp->id, m),
					 mp->opens[m]);
			opened += mp->opens[m] != 0;
		}
		assert_int_equal(pi.open_count, opened);
	}
	assert_int_equal(snap_b.nr_pools, nr_pools);
	assert_int_equal(snap_b.nr_blocks, md.nr_blocks);
	for (int i = 0; i < md.nr_blocks; i++) {
		struct mblock *b = &md.blocks[i];

		memset(&m_sorted[i], 0, sizeof(m_sorted[i]));
		m_sorted[i].start = b->start;
		m_sorted[i].len = b->len;
		m_sorted[i].pool = md.pools[b->pool].id;
		m_sorted[i].creator = b->creator;
		m_sorted[i].holder = b->holder;
		m_sorted[i].epoch = b->epoch;
		for (uint32_t m = 1; m <= RM; m++)
			if (b->owners & (1u << m))
				m_sorted[i].owners[m_sorted[i].nr_owners++] = m;
	}
	qsort(m_sorted, md.nr_blocks, sizeof(m_sorted[0]), start_cmp);
	assert_memory_equal(m_sorted, snap_b.blocks,
			    md.nr_blocks * sizeof(m_sorted[0]));
	for (int i = 0; i < md.nr_blocks; i++) {
		struct mblock *b = m_block_at(snap_b.blocks[i].start);

		assert_int_equal(snap_b.keys[i], b->key);
		assert_true(key_live(b->key));
	}
	for (uint32_t m = 1; m <= RM; m++)
		assert_int_equal(snap_b.held[m], md.held[m]);
	assert_int_equal(fk.nr_live, nr_pools + md.nr_blocks);
}

/* The key the last successful re-key registered. */
static uint64_t last_reg_key(void)
{
	return fk.regs[fk.nr_regs - 1].key;
}

static int rnd_op(struct env *e, int *expect)
{
	uint32_t m = 1 + (uint32_t)rnd_below(RM), nodes[RM];
	int i = (int)rnd_below(RP), op = (int)rnd_below(100), ret;
	struct mpool *mp = &md.pools[i];
	struct mblock *b;
	struct node_grant g;
	uint64_t id, addr;
	uint32_t n;

	if (op < 12) { /* open */
		rnd_kind = K_OPEN;
		unsigned flags = (unsigned)rnd_below(4);
		uint64_t size = rnd_below(4) ? rpool_sizes[i] : 0;
		int created = -1, was = mp->exists;

		if (flags == NODE_POOL_EXCL)
			flags = 0;
		if (rnd_below(8) == 0 && size)
			size += 8;
		ret = node_pool_open(&e->pp, m, rpool_names[i], size, flags,
				     &id, &created, &g);
		if ((flags & NODE_POOL_CREAT) && !size)
			*expect = -EINVAL;
		else if (size > 64 * KIB)
			*expect = -EFBIG;
		else if (mp->exists)
			*expect = (flags == (NODE_POOL_CREAT | NODE_POOL_EXCL))
					  ? -EEXIST
				  : (size && size != mp->size) ? -EINVAL
							       : 0;
		else
			*expect = (flags & NODE_POOL_CREAT) ? 0 : -ENOENT;
		if (ret == 0) {
			assert_int_equal(created, !was);
			if (!was) {
				mp->exists = 1;
				mp->id = id;
				mp->base = g.start;
				mp->size = g.len;
				mp->ro_key = g.key;
			}
			assert_int_equal(id, mp->id);
			assert_int_equal(g.key, mp->ro_key);
			mp->opens[m]++;
		}
		return ret;
	}
	if (op < 18) { /* close */
		rnd_kind = K_CLOSE;
		ret = node_pool_close(&e->pp, mp->exists ? mp->id : md.stale_id,
				      m);
		*expect = mp->exists && mp->opens[m] ? 0 : -ENOENT;
		if (ret == 0)
			mp->opens[m]--;
		return ret;
	}
	if (op < 21) { /* destroy */
		rnd_kind = K_DESTROY;
		ret = node_pool_destroy(&e->pp,
					mp->exists ? mp->id : md.stale_id, m);
		*expect = !mp->exists	   ? -ENOENT
			  : !mp->opens[m]  ? -EPERM
			  : m_blocks_in(i) ? -EBUSY
					   : 0;
		if (ret == 0) {
			md.stale_id = mp->id;
			memset(mp, 0, sizeof(*mp));
		}
		return ret;
	}
	if (op < 40 && md.nr_blocks < RB) { /* alloc */
		rnd_kind = K_ALLOC;
		static const uint64_t aligns[] = { 0, 8, 64, 4096 };
		uint64_t size = 1 + rnd_below(rnd_below(4) ? 512 : 20000);
		uint64_t align = aligns[rnd_below(4)], len = (size + 7) & ~7ull;
		struct node_pool_info pi;

		ret = node_pool_alloc(&e->pp, mp->exists ? mp->id : md.stale_id,
				      m, size, align, &g);
		*expect = !mp->exists		    ? -ENOENT
			  : !mp->opens[m]	    ? -EPERM
			  : size > mp->size	    ? -ENOMEM
			  : md.held[m] + len > RCAP ? -EDQUOT
						    : 0;
		if (*expect == 0 && ret == -ENOMEM && !rnd_injected) {
			/* Only when nothing could hold it (alloc.h). */
			pi = pinfo(e, mp->id);
			if (align <= 8)
				assert_true(pi.st.largest_free < len);
			else
				assert_true(pi.st.largest_free <
					    len + align - 8);
			*expect = -ENOMEM;
		}
		if (ret == 0) {
			assert_true(md.nr_blocks < RB);
			assert_int_equal(g.len, len);
			assert_int_equal(g.start % (align ? align : 8), 0);
			assert_true(g.start >= mp->base &&
				    g.start + len <= mp->base + mp->size);
			assert_null(m_block_at(g.start));
			assert_null(m_block_at(g.start + len - 1));
			b = &md.blocks[md.nr_blocks++];
			memset(b, 0, sizeof(*b));
			b->start = g.start;
			b->len = len;
			b->key = g.key;
			b->epoch = 1;
			b->pool = i;
			b->creator = b->holder = m;
			md.held[m] += len;
		}
		return ret;
	}
	addr = rnd_addr();
	b = m_block_at(addr);
	if (op < 60) { /* release */
		rnd_kind = K_RELEASE;
		/* Often by one that may, so that pools empty out. */
		if (b && rnd_below(2))
			m = b->owners	? (uint32_t)__builtin_ctz(b->owners)
			    : b->holder ? b->holder
					: m;
		ret = node_block_release(&e->pp, m, addr, NULL);
		*expect = !b		     ? -ENOENT
			  : b->start != addr ? -EINVAL
			  : b->owners ? ((b->owners & (1u << m)) ? 0 : -EPERM)
			  : (b->holder && b->holder != m) ? -EPERM
							  : 0;
		assert_true(ret || b);
		if (ret == 0 && b) {
			assert_false(key_live(b->key));
			if (b->holder)
				md.held[b->holder] -= b->len;
			m_block_remove(b);
		}
		return ret;
	}
	if (op < 80) { /* grant */
		rnd_kind = K_GRANT;
		int w = (int)rnd_below(2);
		int owner = b && (b->owners & (1u << m));

		ret = node_block_grant(&e->pp, m, addr, w, &g);
		*expect = !b			       ? -EFAULT
			  : (b->owners && !owner && w) ? -EACCES
						       : 0;
		assert_true(ret || b);
		if (ret == 0 && b) {
			assert_int_equal(g.start, b->start);
			assert_int_equal(g.len, b->len);
			assert_int_equal(g.epoch, b->epoch);
			assert_int_equal(g.owned, b->owners != 0);
			if (b->owners && !owner) {
				assert_int_equal(g.key,
						 md.pools[b->pool].ro_key);
				assert_int_equal(g.access, NODE_KEY_READ);
			} else {
				assert_int_equal(g.key, b->key);
				assert_int_equal(g.access, NODE_KEY_RW);
			}
			assert_grant_live(&g);
		}
		return ret;
	}
	if (op < 98) { /* own, transfer, disown */
		rnd_kind = K_OWN;
		int kind = (int)rnd_below(3), dup = rnd_below(20) == 0;
		unsigned set = 0;
		uint64_t old = b ? b->key : 0;

		n = 1 + (uint32_t)rnd_below(3);
		for (uint32_t k = 0; k < n; k++) {
			nodes[k] = 1 + (uint32_t)rnd_below(RM);
			while (set & (1u << nodes[k]))
				nodes[k] = 1 + nodes[k] % RM;
			set |= 1u << nodes[k];
		}
		if (dup && n > 1)
			nodes[n - 1] = nodes[0];
		if (kind == 2) {
			ret = node_block_disown(&e->pp, m, addr, &g);
			set = 0;
		} else if (kind == 1) {
			ret = node_block_own_transfer(&e->pp, m, addr, nodes, n,
						      &g);
		} else {
			ret = node_block_own(&e->pp, m, addr, nodes, n, &g);
		}
		*expect = (kind != 2 && dup && n > 1)		    ? -EINVAL
			  : !b					    ? -ENOENT
			  : b->start != addr			    ? -EINVAL
			  : (kind == 0 && b->owners)		    ? -EBUSY
			  : (kind != 0 && !(b->owners & (1u << m))) ? -EPERM
								    : 0;
		assert_true(ret || b);
		if (ret == 0 && b) {
			b->owners = set;
			b->epoch++;
			b->key = last_reg_key();
			assert_false(key_live(old));
			assert_int_equal(g.epoch, b->epoch);
			assert_int_equal(g.key,
					 (set && !(set & (1u << m)))
						 ? md.pools[b->pool].ro_key
						 : b->key);
		}
		return ret;
	}
	/* A member leaves. */
	rnd_kind = K_GONE;
	node_pools_member_gone(&e->pp, m);
	for (int k = 0; k < RP; k++)
		md.pools[k].opens[m] = 0;
	md.held[m] = 0;
	for (int k = 0; k < md.nr_blocks; k++) {
		b = &md.blocks[k];
		if (b->holder == m)
			b->holder = 0;
		if (b->owners & (1u << m)) {
			uint32_t who;

			b->owners &= ~(1u << m);
			b->epoch++;
			who = b->owners ? (uint32_t)__builtin_ctz(b->owners)
					: 1;
			assert_int_equal(
				node_block_grant(&e->pp, who, b->start, 1, &g),
				0);
			/* An injected failure keeps the old key. */
			if (g.key == b->key)
				assert_true(rnd_injected);
			else
				assert_false(key_live(b->key));
			b->key = g.key;
		}
	}
	*expect = 0;
	return 0;
}

static void test_random_model(void **state)
{
	static const int errs[] = { EINVAL, ENOENT, EEXIST, EFBIG,  EPERM,
				    EBUSY,  ENOMEM, EDQUOT, EFAULT, EACCES };
	int expect, ret, injected, ok[K_MAX] = { 0 }, seen[ELAST_SEEN] = { 0 };
	struct env e;

	(void)state;
	env_init(&e, 64 * KIB, RCAP);
	memset(&md, 0, sizeof(md));
	md.stale_id = 12345;
	rnd_state = 42;
	for (int step = 0; step < 6000; step++) {
		snap_take(&e, &snap_a);
		injected = 0;
		if (rnd_below(12) == 0) {
			fk.fail_in = 1;
			injected = 1;
		} else if (rnd_below(12) == 0) {
			fail_malloc_in = 1 + (int)rnd_below(3);
			injected = 1;
		}
		rnd_injected = injected;
		ret = rnd_op(&e, &expect);
		/* The fault may not have been reached. */
		fk.fail_in = 0;
		fail_malloc_in = 0;
		if (injected && ret == -ENOMEM && expect == 0)
			expect = -ENOMEM;
		if (ret != expect)
			fail_msg("step %d: got %d, want %d", step, ret, expect);
		if (ret)
			assert_unchanged(&e);
		else
			m_check(&e);
		if (!ret)
			ok[rnd_kind]++;
		else if (-ret < ELAST_SEEN)
			seen[-ret]++;
	}
	m_check(&e);
	/* The run went through every operation and every error. */
	for (int k = 0; k < K_MAX; k++)
		assert_true(ok[k] > 0);
	for (size_t k = 0; k < sizeof(errs) / sizeof(errs[0]); k++)
		assert_true(seen[errs[k]] > 0);
	env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_args),
		cmocka_unit_test(test_open_rules),
		cmocka_unit_test(test_carve_destroy),
		cmocka_unit_test(test_open_close),
		cmocka_unit_test(test_alloc_release),
		cmocka_unit_test(test_reg_failure),
		cmocka_unit_test(test_malloc_failure),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_release_errors),
		cmocka_unit_test(test_grant_matrix),
		cmocka_unit_test(test_ownership),
		cmocka_unit_test(test_member_gone),
		cmocka_unit_test(test_listing),
		cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
