/* SPDX-License-Identifier: MIT */
/*
 * pools.c - shmnode's table of pools, their blocks and the blocks' owners:
 * pools in three red-black trees (by id, name and base), each pool's
 * blocks in one more (by start) beside the pool's own allocator, and the
 * bytes each member holds in another.  See pools.h for the contract.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pools.h"

/* One member's opens of one pool. */
struct opener {
	uint32_t member;
	uint64_t count;
};

struct pool {
	struct shmx__rb_node id_node;
	struct shmx__rb_node name_node;
	struct shmx__rb_node addr_node;
	uint64_t id;
	uint64_t base;
	uint64_t size;
	uint32_t creator;
	char name[SHMX_NAME_MAX];
	struct shmx__alloc alloc;    /* the pool's blocks and free space */
	struct shmx__rb_root blocks; /* struct block by start */
	void *ro_handle;	     /* the read-only key over the pool */
	uint64_t ro_key;
	struct opener *openers; /* unordered, counts > 0 */
	uint32_t nr_openers;
	uint32_t cap_openers;
};

struct block {
	struct shmx__rb_node node; /* in pool->blocks */
	struct pool *pool;
	uint64_t start;
	uint64_t len;
	uint32_t creator;
	uint32_t holder; /* charged member, 0 once it left */
	uint32_t nr_owners;
	uint32_t *owners; /* ascending; NULL when unowned */
	uint64_t epoch;
	void *key_handle; /* the read/write key over the block */
	uint64_t key;
};

/* Bytes of blocks charged to one member (no record while it is 0). */
struct charge {
	struct shmx__rb_node node;
	uint32_t member;
	uint64_t held;
};

#define id_pool(n) shmx__rb_entry(n, struct pool, id_node)
#define name_pool(n) shmx__rb_entry(n, struct pool, name_node)
#define addr_pool(n) shmx__rb_entry(n, struct pool, addr_node)
#define node_block(n) shmx__rb_entry(n, struct block, node)
#define node_charge(n) shmx__rb_entry(n, struct charge, node)

/* ---- trees keyed by an integer ------------------------------------- */

/* The key a tree orders its nodes by. */

/* Keys: a pool's id, a pool's base, a block's start, a charge's member. */
static uint64_t pool_id_key(const struct shmx__rb_node *n)
{
	return id_pool(n)->id;
}

static uint64_t pool_addr_key(const struct shmx__rb_node *n)
{
	return addr_pool(n)->base;
}

static uint64_t block_key(const struct shmx__rb_node *n)
{
	return node_block(n)->start;
}

static uint64_t charge_key(const struct shmx__rb_node *n)
{
	return node_charge(n)->member;
}

/* ---- pools by name -------------------------------------------------- */

static const char *pool_name(const struct shmx__rb_node *n)
{
	return name_pool(n)->name;
}

/* The pool called @name, or NULL. */
static struct pool *pool_by_name(const struct node_pools *pp, const char *name)
{
	struct shmx__rb_node *n =
		shmx__rb_find_name(&pp->by_name, name, pool_name);

	return n ? name_pool(n) : NULL;
}

/* ---- lookups -------------------------------------------------------- */

/* The pool with id @id, or NULL. */
static struct pool *pool_by_id(const struct node_pools *pp, uint64_t id)
{
	struct shmx__rb_node *n = shmx__rb_find(&pp->by_id, id, pool_id_key);

	return n ? id_pool(n) : NULL;
}

/* The pool whose range holds @gaddr, or NULL. */
static struct pool *pool_at(const struct node_pools *pp, uint64_t gaddr)
{
	struct shmx__rb_node *n =
		shmx__rb_floor(&pp->by_addr, gaddr, pool_addr_key);

	if (!n || gaddr - addr_pool(n)->base >= addr_pool(n)->size)
		return NULL;
	return addr_pool(n);
}

/* The block of @p that holds @gaddr, or NULL (alloc.c says which). */
static struct block *block_at(const struct pool *p, uint64_t gaddr)
{
	struct shmx__rb_node *n;
	uint64_t start;

	if (shmx__alloc_find(&p->alloc, gaddr, &start, NULL))
		return NULL;
	n = shmx__rb_find(&p->blocks, start, block_key);
	return n ? node_block(n) : NULL;
}

/*
 * The block that starts at @gaddr in *@b.  Returns 0, -ENOENT (no block
 * holds @gaddr) or -EINVAL (@gaddr is inside a block, not its start).
 */
static int block_lookup(const struct node_pools *pp, uint64_t gaddr,
			struct block **b)
{
	struct pool *p = pool_at(pp, gaddr);

	*b = p ? block_at(p, gaddr) : NULL;
	if (!*b)
		return -ENOENT;
	return (*b)->start == gaddr ? 0 : -EINVAL;
}

/* The charge record of @member, or NULL. */
static struct charge *charge_find(const struct node_pools *pp, uint32_t member)
{
	struct shmx__rb_node *n =
		shmx__rb_find(&pp->charges, member, charge_key);

	return n ? node_charge(n) : NULL;
}

/* Take @len bytes off @member's charge (dropping a record that reaches 0). */
static void uncharge(struct node_pools *pp, uint32_t member, uint64_t len)
{
	struct charge *c = charge_find(pp, member);

	if (!c)
		return;
	c->held -= len;
	if (!c->held) {
		shmx__rb_erase(&c->node, &pp->charges);
		free(c);
	}
}

/* ---- openers -------------------------------------------------------- */

/* The opener entry of @member in @p, or NULL. */
static struct opener *opener_find(const struct pool *p, uint32_t member)
{
	for (uint32_t i = 0; i < p->nr_openers; i++)
		if (p->openers[i].member == member)
			return &p->openers[i];
	return NULL;
}

/* Count one more open of @p by @member.  Returns 0 or -ENOMEM. */
static int opener_add(struct pool *p, uint32_t member)
{
	struct opener *o = opener_find(p, member), *grown;
	uint32_t cap;

	if (o) {
		o->count++;
		return 0;
	}
	if (p->nr_openers == p->cap_openers) {
		cap = p->cap_openers ? 2 * p->cap_openers : 4;
		grown = malloc(cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		if (p->nr_openers)
			memcpy(grown, p->openers,
			       p->nr_openers * sizeof(*grown));
		free(p->openers);
		p->openers = grown;
		p->cap_openers = cap;
	}
	p->openers[p->nr_openers].member = member;
	p->openers[p->nr_openers].count = 1;
	p->nr_openers++;
	return 0;
}

/* Drop @o (an entry of @p) altogether.  Returns nothing. */
static void opener_remove(struct pool *p, struct opener *o)
{
	*o = p->openers[--p->nr_openers];
}

/* ---- owner sets ----------------------------------------------------- */

/* Index of @member in @b's owner set, or -1. */
static int owner_index(const struct block *b, uint32_t member)
{
	uint32_t lo = 0, hi = b->nr_owners;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (b->owners[mid] == member)
			return (int)mid;
		if (b->owners[mid] < member)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* True when @member is one of @b's owners. */
static int is_owner(const struct block *b, uint32_t member)
{
	return owner_index(b, member) >= 0;
}

/* qsort order of u32: negative, 0 or positive. */
static int u32_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return (a > b) - (a < b);
}

/*
 * Check the owner list @nodes[0..@n) and copy it, ascending, to @sorted
 * (room for SHMX_OWNERS_MAX).  Returns 0 or -EINVAL (empty, too long, a 0
 * or a repeated id).
 */
static int owners_sort(const uint32_t *nodes, uint32_t n, uint32_t *sorted)
{
	if (!nodes || !n || n > SHMX_OWNERS_MAX)
		return -EINVAL;
	memcpy(sorted, nodes, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), u32_cmp);
	if (!sorted[0])
		return -EINVAL;
	for (uint32_t i = 1; i < n; i++)
		if (sorted[i] == sorted[i - 1])
			return -EINVAL;
	return 0;
}

/*
 * Give @b a fresh read/write key: register the new one first, then drop
 * the old one.  Returns 0, or -ENOMEM (nothing changed) when the new key
 * could not be registered.
 */
static int block_rekey(struct node_pools *pp, struct block *b)
{
	void *handle;
	uint64_t key;

	if (pp->keys->reg(pp->keys->arg, b->start, b->len, NODE_KEY_RW, &handle,
			  &key))
		return -ENOMEM;
	pp->keys->unreg(pp->keys->arg, b->key_handle);
	b->key_handle = handle;
	b->key = key;
	return 0;
}

/* ---- reports -------------------------------------------------------- */

/* *@g: @b's read/write key.  Returns nothing. */
static void grant_rw(const struct block *b, struct node_grant *g)
{
	g->start = b->start;
	g->len = b->len;
	g->key = b->key;
	g->epoch = b->epoch;
	g->access = NODE_KEY_RW;
	g->owned = b->nr_owners != 0;
}

/* *@g: the best key @member may have for @b.  Returns nothing. */
static void grant_best(const struct block *b, uint32_t member,
		       struct node_grant *g)
{
	grant_rw(b, g);
	if (b->nr_owners && !is_owner(b, member)) {
		g->key = b->pool->ro_key;
		g->access = NODE_KEY_READ;
	}
}

/* Fill *@info (zeroed first) from @p.  Returns nothing. */
static void pool_info(const struct pool *p, struct node_pool_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = p->id;
	memcpy(info->name, p->name, sizeof(info->name));
	info->base = p->base;
	info->size = p->size;
	info->creator = p->creator;
	info->open_count = p->nr_openers;
	shmx__alloc_stat(&p->alloc, &info->st);
}

/* Fill *@info (zeroed first) from @b.  Returns nothing. */
static void block_info(const struct block *b, struct node_block_info *info)
{
	memset(info, 0, sizeof(*info));
	info->start = b->start;
	info->len = b->len;
	info->pool = b->pool->id;
	info->creator = b->creator;
	info->holder = b->holder;
	info->epoch = b->epoch;
	info->nr_owners = b->nr_owners;
	if (b->nr_owners)
		memcpy(info->owners, b->owners,
		       b->nr_owners * sizeof(*b->owners));
}

/* ---- the table ------------------------------------------------------ */

int node_pools_init(struct node_pools *pp, struct shmx__alloc *region,
		    const struct node_keys *keys,
		    const struct node_pools_limits *limits)
{
	memset(pp, 0, sizeof(*pp));
	if (!region || !keys || !keys->reg || !keys->unreg)
		return -EINVAL;
	pp->region = region;
	pp->keys = keys;
	if (limits)
		pp->limits = *limits;
	pp->next_id = 1;
	return 0;
}

/*
 * Drop @b's key and free its record (its range stays allocated in the
 * pool's allocator, which the caller finishes).  Returns nothing.
 */
static void block_free(struct node_pools *pp, struct block *b)
{
	pp->keys->unreg(pp->keys->arg, b->key_handle);
	shmx__rb_erase(&b->node, &b->pool->blocks);
	if (b->holder)
		uncharge(pp, b->holder, b->len);
	free(b->owners);
	free(b);
}

/*
 * Free @p with every block in it: keys dropped, range back to the region.
 * Returns nothing.
 */
static void pool_free(struct node_pools *pp, struct pool *p)
{
	struct shmx__rb_node *n;

	while ((n = shmx__rb_first(&p->blocks)))
		block_free(pp, node_block(n));
	pp->keys->unreg(pp->keys->arg, p->ro_handle);
	shmx__alloc_fini(&p->alloc);
	shmx__alloc_put(pp->region, p->base);
	shmx__rb_erase(&p->id_node, &pp->by_id);
	shmx__rb_erase(&p->name_node, &pp->by_name);
	shmx__rb_erase(&p->addr_node, &pp->by_addr);
	pp->nr_pools--;
	free(p->openers);
	free(p);
}

void node_pools_fini(struct node_pools *pp)
{
	struct shmx__rb_node *n;

	if (!pp->keys)
		return;
	while ((n = shmx__rb_first(&pp->by_id)))
		pool_free(pp, id_pool(n));
	/* Every charge went with its blocks. */
	while ((n = shmx__rb_first(&pp->charges))) {
		shmx__rb_erase(n, &pp->charges);
		free(node_charge(n));
	}
	memset(pp, 0, sizeof(*pp));
}

/* @size rounded up to the grain; @size must be below 2^64 - 7. */
static uint64_t round_grain(uint64_t size)
{
	return (size + SHMX_ALLOC_GRAIN - 1) & ~(SHMX_ALLOC_GRAIN - 1);
}

/*
 * Whether a failed carve of @size bytes was for want of room rather than
 * of memory for alloc.c's records: alloc.h promises success when a free
 * block of size + align - grain exists; below that, call it no room.
 */
static int region_full(const struct node_pools *pp, uint64_t size)
{
	struct shmx__alloc_stat st;

	shmx__alloc_stat(pp->region, &st);
	return st.largest_free < size ||
	       st.largest_free - size < NODE_POOL_ALIGN - SHMX_ALLOC_GRAIN;
}

/*
 * Create the pool @name of @size bytes (rounded) for @member, opened once
 * by it, in *@out.  Returns 0, -ENOSPC or -ENOMEM; nothing changes on
 * error.
 */
static int pool_create(struct node_pools *pp, uint32_t member, const char *name,
		       uint64_t size, struct pool **out)
{
	struct pool *p;
	int ret;

	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	ret = opener_add(p, member);
	if (ret)
		goto out_free_pool;
	ret = shmx__alloc_get(pp->region, size, NODE_POOL_ALIGN, &p->base);
	if (ret) {
		ret = region_full(pp, size) ? -ENOSPC : ret;
		goto out_free_openers;
	}
	p->size = size;
	ret = shmx__alloc_init(&p->alloc, p->base, p->size);
	if (ret)
		goto out_put_range;
	if (pp->keys->reg(pp->keys->arg, p->base, p->size, NODE_KEY_READ,
			  &p->ro_handle, &p->ro_key)) {
		ret = -ENOMEM;
		goto out_fini_alloc;
	}
	p->id = pp->next_id++;
	p->creator = member;
	memcpy(p->name, name, strlen(name) + 1);
	shmx__rb_insert_key(&pp->by_id, &p->id_node, pool_id_key);
	shmx__rb_insert_key(&pp->by_addr, &p->addr_node, pool_addr_key);
	shmx__rb_insert_name(&pp->by_name, &p->name_node, pool_name);
	pp->nr_pools++;
	*out = p;
	return 0;

out_fini_alloc:
	shmx__alloc_fini(&p->alloc);
out_put_range:
	shmx__alloc_put(pp->region, p->base);
out_free_openers:
	free(p->openers);
out_free_pool:
	free(p);
	return ret;
}

int node_pool_open(struct node_pools *pp, uint32_t member, const char *name,
		   uint64_t size, unsigned flags, uint64_t *id, int *created,
		   struct node_grant *ro)
{
	uint64_t max = pp->limits.max_pool_size;
	struct pool *p;
	int ret, made = 0;

	if (!member || !shmx__name_valid(name) ||
	    (flags & ~(NODE_POOL_CREAT | NODE_POOL_EXCL)) ||
	    (flags == NODE_POOL_EXCL) || ((flags & NODE_POOL_CREAT) && !size))
		return -EINVAL;
	/* A size this large cannot be rounded: it is over any region. */
	if ((max && size > max) || size > UINT64_MAX - SHMX_ALLOC_GRAIN)
		return -EFBIG;
	size = round_grain(size);
	if (max && size > max)
		return -EFBIG;
	p = pool_by_name(pp, name);
	if (p) {
		if ((flags & NODE_POOL_CREAT) && (flags & NODE_POOL_EXCL))
			return -EEXIST;
		if (size && size != p->size)
			return -EINVAL;
		ret = opener_add(p, member);
	} else if (!(flags & NODE_POOL_CREAT)) {
		return -ENOENT;
	} else {
		ret = pool_create(pp, member, name, size, &p);
		made = 1;
	}
	if (ret)
		return ret;
	*id = p->id;
	if (created)
		*created = made;
	if (ro) {
		ro->start = p->base;
		ro->len = p->size;
		ro->key = p->ro_key;
		ro->epoch = 1;
		ro->access = NODE_KEY_READ;
		ro->owned = 0;
	}
	return 0;
}

int node_pool_close(struct node_pools *pp, uint64_t id, uint32_t member)
{
	struct pool *p;
	struct opener *o;

	if (!member)
		return -EINVAL;
	p = pool_by_id(pp, id);
	o = p ? opener_find(p, member) : NULL;
	if (!o)
		return -ENOENT;
	if (!--o->count)
		opener_remove(p, o);
	return 0;
}

uint64_t node_pool_opens(const struct node_pools *pp, uint64_t id,
			 uint32_t member)
{
	struct pool *p = pool_by_id(pp, id);
	struct opener *o = p ? opener_find(p, member) : NULL;

	return o ? o->count : 0;
}

int node_pool_destroy(struct node_pools *pp, uint64_t id, uint32_t member)
{
	struct pool *p;

	if (!member)
		return -EINVAL;
	p = pool_by_id(pp, id);
	if (!p)
		return -ENOENT;
	if (!opener_find(p, member))
		return -EPERM;
	if (p->alloc.nr_used)
		return -EBUSY;
	pool_free(pp, p);
	return 0;
}

int node_pool_stat(const struct node_pools *pp, uint64_t id,
		   struct node_pool_info *info)
{
	struct pool *p = pool_by_id(pp, id);

	if (!p)
		return -ENOENT;
	pool_info(p, info);
	return 0;
}

int node_pool_alloc(struct node_pools *pp, uint64_t pool_id, uint32_t member,
		    uint64_t size, uint64_t align, struct node_grant *g)
{
	uint64_t cap = pp->limits.member_cap, len, start;
	struct charge *c;
	struct block *b;
	struct pool *p;
	int ret, new_charge = 0;

	if (!align)
		align = SHMX_ALLOC_GRAIN;
	if (!member || !size || align < SHMX_ALLOC_GRAIN ||
	    align > SHMX_ALLOC_ALIGN_MAX || (align & (align - 1)))
		return -EINVAL;
	p = pool_by_id(pp, pool_id);
	if (!p)
		return -ENOENT;
	if (!opener_find(p, member))
		return -EPERM;
	if (size > p->size)
		return -ENOMEM;
	len = round_grain(size);
	c = charge_find(pp, member);
	if (cap && (len > cap || (c && c->held > cap - len)))
		return -EDQUOT;
	if (!c) {
		c = malloc(sizeof(*c));
		if (!c)
			return -ENOMEM;
		c->member = member;
		c->held = 0;
		new_charge = 1;
	}
	b = malloc(sizeof(*b));
	if (!b) {
		ret = -ENOMEM;
		goto out_free_charge;
	}
	memset(b, 0, sizeof(*b));
	ret = shmx__alloc_get(&p->alloc, len, align, &start);
	if (ret)
		goto out_free_block;
	if (pp->keys->reg(pp->keys->arg, start, len, NODE_KEY_RW,
			  &b->key_handle, &b->key)) {
		ret = -ENOMEM;
		goto out_put_block;
	}
	b->pool = p;
	b->start = start;
	b->len = len;
	b->creator = member;
	b->holder = member;
	b->epoch = 1;
	shmx__rb_insert_key(&p->blocks, &b->node, block_key);
	if (new_charge)
		shmx__rb_insert_key(&pp->charges, &c->node, charge_key);
	c->held += len;
	grant_rw(b, g);
	return 0;

out_put_block:
	shmx__alloc_put(&p->alloc, start);
out_free_block:
	free(b);
out_free_charge:
	if (new_charge)
		free(c);
	return ret;
}

int node_block_release(struct node_pools *pp, uint32_t member, uint64_t gaddr,
		       uint64_t *len)
{
	struct block *b;
	int ret;

	if (!member)
		return -EINVAL;
	ret = block_lookup(pp, gaddr, &b);
	if (ret)
		return ret;
	if (b->nr_owners ? !is_owner(b, member)
			 : b->holder && b->holder != member)
		return -EPERM;
	/* The key goes before the memory can be handed out again. */
	pp->keys->unreg(pp->keys->arg, b->key_handle);
	shmx__alloc_put(&b->pool->alloc, b->start);
	shmx__rb_erase(&b->node, &b->pool->blocks);
	if (b->holder)
		uncharge(pp, b->holder, b->len);
	if (len)
		*len = b->len;
	free(b->owners);
	free(b);
	return 0;
}

int node_block_grant(const struct node_pools *pp, uint32_t member,
		     uint64_t gaddr, int want_write, struct node_grant *g)
{
	struct block *b;
	struct pool *p;

	if (!member)
		return -EINVAL;
	p = pool_at(pp, gaddr);
	b = p ? block_at(p, gaddr) : NULL;
	if (!b)
		return -EFAULT;
	if (want_write && b->nr_owners && !is_owner(b, member))
		return -EACCES;
	grant_best(b, member, g);
	return 0;
}

/*
 * Give @b the owner set @set of @n ids (NULL/0: unowned) under a new key,
 * epoch + 1.  @set is taken over on success and freed on error.  Returns
 * 0 or -ENOMEM (nothing changed).
 */
static int block_set_owners(struct node_pools *pp, struct block *b,
			    uint32_t *set, uint32_t n)
{
	if (block_rekey(pp, b)) {
		free(set);
		return -ENOMEM;
	}
	free(b->owners);
	b->owners = set;
	b->nr_owners = n;
	b->epoch++;
	return 0;
}

/* node_block_own (@transfer 0) and node_block_own_transfer (1). */
static int own(struct node_pools *pp, uint32_t member, uint64_t gaddr,
	       const uint32_t *nodes, uint32_t n, int transfer,
	       struct node_grant *g)
{
	uint32_t sorted[SHMX_OWNERS_MAX], *set;
	struct block *b;
	int ret;

	if (!member)
		return -EINVAL;
	ret = owners_sort(nodes, n, sorted);
	if (ret)
		return ret;
	ret = block_lookup(pp, gaddr, &b);
	if (ret)
		return ret;
	if (!transfer && b->nr_owners)
		return -EBUSY;
	if (transfer && !is_owner(b, member))
		return -EPERM;
	set = malloc(n * sizeof(*set));
	if (!set)
		return -ENOMEM;
	memcpy(set, sorted, n * sizeof(*set));
	ret = block_set_owners(pp, b, set, n);
	if (ret)
		return ret;
	grant_best(b, member, g);
	return 0;
}

int node_block_own(struct node_pools *pp, uint32_t member, uint64_t gaddr,
		   const uint32_t *nodes, uint32_t n, struct node_grant *g)
{
	return own(pp, member, gaddr, nodes, n, 0, g);
}

int node_block_own_transfer(struct node_pools *pp, uint32_t member,
			    uint64_t gaddr, const uint32_t *nodes, uint32_t n,
			    struct node_grant *g)
{
	return own(pp, member, gaddr, nodes, n, 1, g);
}

int node_block_disown(struct node_pools *pp, uint32_t member, uint64_t gaddr,
		      struct node_grant *g)
{
	struct block *b;
	int ret;

	if (!member)
		return -EINVAL;
	ret = block_lookup(pp, gaddr, &b);
	if (ret)
		return ret;
	if (!is_owner(b, member))
		return -EPERM;
	ret = block_set_owners(pp, b, NULL, 0);
	if (ret)
		return ret;
	grant_rw(b, g);
	return 0;
}

/*
 * Take the owner at index @i out of @b's owner set, re-key, epoch + 1.
 * Returns nothing.
 */
static void owner_gone(struct node_pools *pp, struct block *b, int i)
{
	memmove(&b->owners[i], &b->owners[i + 1],
		(b->nr_owners - (uint32_t)i - 1) * sizeof(*b->owners));
	if (!--b->nr_owners) {
		free(b->owners);
		b->owners = NULL;
	}
	/* On failure the old key stays: only its former holders know it. */
	block_rekey(pp, b);
	b->epoch++;
}

void node_pools_member_gone(struct node_pools *pp, uint32_t member)
{
	struct shmx__rb_node *pn, *bn;
	struct charge *c;

	if (!member)
		return;
	for (pn = shmx__rb_first(&pp->by_id); pn; pn = shmx__rb_next(pn)) {
		struct pool *p = id_pool(pn);
		struct opener *o = opener_find(p, member);

		if (o)
			opener_remove(p, o);
		for (bn = shmx__rb_first(&p->blocks); bn;
		     bn = shmx__rb_next(bn)) {
			struct block *b = node_block(bn);
			int i = owner_index(b, member);

			if (b->holder == member)
				b->holder = 0;
			if (i >= 0)
				owner_gone(pp, b, i);
		}
	}
	c = charge_find(pp, member);
	if (c) {
		shmx__rb_erase(&c->node, &pp->charges);
		free(c);
	}
}

uint64_t node_pools_member_held(const struct node_pools *pp, uint32_t member)
{
	struct charge *c = charge_find(pp, member);

	return c ? c->held : 0;
}

/* ---- listings ------------------------------------------------------- */

int node_pool_next(const struct node_pools *pp, uint64_t from_id,
		   struct node_pool_info *info)
{
	struct shmx__rb_node *n =
		shmx__rb_ceil(&pp->by_id, from_id, pool_id_key);

	if (!n)
		return -ENOENT;
	pool_info(id_pool(n), info);
	return 0;
}

int node_block_next(const struct node_pools *pp, uint64_t from,
		    struct node_block_info *info)
{
	struct shmx__rb_node *pn, *bn;

	/* The pool that may hold @from, then the pools above it. */
	pn = shmx__rb_floor(&pp->by_addr, from, pool_addr_key);
	if (!pn)
		pn = shmx__rb_first(&pp->by_addr);
	for (; pn; pn = shmx__rb_next(pn)) {
		bn = shmx__rb_ceil(&addr_pool(pn)->blocks, from, block_key);
		if (bn) {
			block_info(node_block(bn), info);
			return 0;
		}
	}
	return -ENOENT;
}

int node_pools_foreach(const struct node_pools *pp,
		       int (*fn)(void *arg, const struct node_pool_info *info),
		       void *arg)
{
	struct node_pool_info info;
	struct shmx__rb_node *n;
	int ret;

	for (n = shmx__rb_first(&pp->by_id); n; n = shmx__rb_next(n)) {
		pool_info(id_pool(n), &info);
		ret = fn(arg, &info);
		if (ret)
			return ret;
	}
	return 0;
}

/* Call @fn for each block of @p.  Returns as node_blocks_foreach. */
static int pool_blocks_foreach(const struct pool *p,
			       int (*fn)(void *arg,
					 const struct node_block_info *info),
			       void *arg)
{
	struct node_block_info info;
	struct shmx__rb_node *n;
	int ret;

	for (n = shmx__rb_first(&p->blocks); n; n = shmx__rb_next(n)) {
		block_info(node_block(n), &info);
		ret = fn(arg, &info);
		if (ret)
			return ret;
	}
	return 0;
}

int node_blocks_foreach(const struct node_pools *pp, uint64_t pool_id,
			int (*fn)(void *arg,
				  const struct node_block_info *info),
			void *arg)
{
	struct shmx__rb_node *n;
	struct pool *p;
	int ret;

	if (pool_id) {
		p = pool_by_id(pp, pool_id);
		return p ? pool_blocks_foreach(p, fn, arg) : -ENOENT;
	}
	for (n = shmx__rb_first(&pp->by_addr); n; n = shmx__rb_next(n)) {
		ret = pool_blocks_foreach(addr_pool(n), fn, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- invariants ----------------------------------------------------- */

/* True when @b's owner set is well formed. */
static int owners_ok(const struct block *b)
{
	if (b->nr_owners > SHMX_OWNERS_MAX || !b->nr_owners != !b->owners)
		return 0;
	for (uint32_t i = 0; i < b->nr_owners; i++)
		if (!b->owners[i] || (i && b->owners[i - 1] >= b->owners[i]))
			return 0;
	return 1;
}

/*
 * Check @p against the region, its blocks against its allocator, its owner
 * sets and its openers.  Returns 0 or -EUCLEAN.
 */
static int pool_check(const struct node_pools *pp, const struct pool *p)
{
	struct shmx__rb_node *n;
	uint64_t start, len, at = 0, count = 0;

	if (!p->size || p->base % NODE_POOL_ALIGN || p->id >= pp->next_id ||
	    !p->id || shmx__alloc_check(&p->alloc) ||
	    p->alloc.total != p->size ||
	    shmx__alloc_find(pp->region, p->base, &start, &len) ||
	    start != p->base || len != p->size ||
	    shmx__rb_check(&p->blocks) != (long)p->alloc.nr_used)
		return -EUCLEAN;
	for (n = shmx__rb_first(&p->blocks); n; n = shmx__rb_next(n)) {
		const struct block *b = node_block(n);

		if (b->pool != p || !b->epoch || !b->creator || !owners_ok(b) ||
		    shmx__alloc_next(&p->alloc, at, &start, &len) ||
		    start != b->start || len != b->len)
			return -EUCLEAN;
		if (b->holder && b->holder != b->creator)
			return -EUCLEAN;
		at = b->start + 1;
		count++;
	}
	if (count != p->alloc.nr_used || p->nr_openers > p->cap_openers)
		return -EUCLEAN;
	for (uint32_t i = 0; i < p->nr_openers; i++) {
		if (!p->openers[i].member || !p->openers[i].count)
			return -EUCLEAN;
		for (uint32_t j = 0; j < i; j++)
			if (p->openers[j].member == p->openers[i].member)
				return -EUCLEAN;
	}
	return 0;
}

/* Sum of the lengths of the blocks @member holds. */
static uint64_t held_by(const struct node_pools *pp, uint32_t member)
{
	struct shmx__rb_node *pn, *bn;
	uint64_t sum = 0;

	for (pn = shmx__rb_first(&pp->by_id); pn; pn = shmx__rb_next(pn))
		for (bn = shmx__rb_first(&id_pool(pn)->blocks); bn;
		     bn = shmx__rb_next(bn))
			if (node_block(bn)->holder == member)
				sum += node_block(bn)->len;
	return sum;
}

int node_pools_check(const struct node_pools *pp)
{
	const struct pool *p, *prev = NULL;
	struct shmx__rb_node *n;
	uint64_t charged = 0;

	if (shmx__rb_check(&pp->by_id) != (long)pp->nr_pools ||
	    shmx__rb_check(&pp->by_name) != (long)pp->nr_pools ||
	    shmx__rb_check(&pp->by_addr) != (long)pp->nr_pools ||
	    shmx__rb_check(&pp->charges) < 0)
		return -EUCLEAN;
	for (n = shmx__rb_first(&pp->by_id); n; n = shmx__rb_next(n)) {
		p = id_pool(n);
		if ((prev && prev->id >= p->id) || pool_check(pp, p) ||
		    !shmx__name_valid(p->name) ||
		    pool_by_name(pp, p->name) != p || pool_at(pp, p->base) != p)
			return -EUCLEAN;
		prev = p;
	}
	for (prev = NULL, n = shmx__rb_first(&pp->by_name); n;
	     n = shmx__rb_next(n)) {
		p = name_pool(n);
		if (prev && strcmp(prev->name, p->name) >= 0)
			return -EUCLEAN;
		prev = p;
	}
	for (prev = NULL, n = shmx__rb_first(&pp->by_addr); n;
	     n = shmx__rb_next(n)) {
		p = addr_pool(n);
		if (prev && prev->base + prev->size > p->base)
			return -EUCLEAN;
		prev = p;
	}
	for (n = shmx__rb_first(&pp->charges); n; n = shmx__rb_next(n)) {
		const struct charge *c = node_charge(n);
		struct shmx__rb_node *next = shmx__rb_next(n);

		if (!c->member || !c->held ||
		    held_by(pp, c->member) != c->held ||
		    (next && node_charge(next)->member <= c->member))
			return -EUCLEAN;
		charged += c->held;
	}
	/* Every holder has its record: the records cover all held bytes. */
	for (n = shmx__rb_first(&pp->by_id); n; n = shmx__rb_next(n)) {
		struct shmx__rb_node *bn;

		for (bn = shmx__rb_first(&id_pool(n)->blocks); bn;
		     bn = shmx__rb_next(bn))
			if (node_block(bn)->holder)
				charged -= node_block(bn)->len;
	}
	return charged ? -EUCLEAN : 0;
}

/* ---- persistence (persist.c) ----------------------------------------- */

size_t node_pool_save(const struct node_pools *pp, uint64_t id, void *buf,
		      size_t cap)
{
	const struct pool *p = pool_by_id(pp, id);
	struct node_pool_rec r;
	size_t len;

	if (!p)
		return 0;
	len = sizeof(r) + p->nr_openers * sizeof(struct node_opener_rec);
	if (len > cap)
		return len;
	memset(&r, 0, sizeof(r));
	r.id = p->id;
	r.base = p->base;
	r.size = p->size;
	r.creator = p->creator;
	r.nr_openers = p->nr_openers;
	memcpy(r.name, p->name, sizeof(r.name));
	memcpy(buf, &r, sizeof(r));
	for (uint32_t i = 0; i < p->nr_openers; i++) {
		struct node_opener_rec o = { .member = p->openers[i].member,
					     .count = p->openers[i].count };

		memcpy((uint8_t *)buf + sizeof(r) + i * sizeof(o), &o,
		       sizeof(o));
	}
	return len;
}

size_t node_block_save(const struct node_pools *pp, uint64_t start, void *buf,
		       size_t cap)
{
	const struct block *b;
	struct node_block_rec r;
	size_t len;

	if (block_lookup(pp, start, (struct block **)&b))
		return 0;
	len = sizeof(r) + b->nr_owners * sizeof(uint32_t);
	if (len > cap)
		return len;
	memset(&r, 0, sizeof(r));
	r.pool = b->pool->id;
	r.start = b->start;
	r.len = b->len;
	r.epoch = b->epoch;
	r.creator = b->creator;
	r.holder = b->holder;
	r.nr_owners = b->nr_owners;
	memcpy(buf, &r, sizeof(r));
	if (b->nr_owners)
		memcpy((uint8_t *)buf + sizeof(r), b->owners,
		       b->nr_owners * sizeof(uint32_t));
	return len;
}

int node_pool_load(struct node_pools *pp, const void *buf, size_t len)
{
	const struct node_opener_rec *o;
	struct node_pool_rec r;
	struct pool *p;
	int ret;

	if (len < sizeof(r))
		return -EBADMSG;
	memcpy(&r, buf, sizeof(r));
	if (len != sizeof(r) + r.nr_openers * sizeof(*o) || !r.id || !r.size ||
	    r.base % NODE_POOL_ALIGN ||
	    memchr(r.name, 0, sizeof(r.name)) == NULL ||
	    !shmx__name_valid(r.name))
		return -EBADMSG;
	if (pool_by_id(pp, r.id) || pool_by_name(pp, r.name))
		return -EEXIST;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (uint32_t i = 0; i < r.nr_openers; i++) {
		struct node_opener_rec e;

		memcpy(&e, (const uint8_t *)buf + sizeof(r) + i * sizeof(e),
		       sizeof(e));
		ret = -EBADMSG;
		if (!e.member || !e.count || opener_find(p, e.member))
			goto out_free;
		ret = opener_add(p, e.member);
		if (ret)
			goto out_free;
		p->openers[p->nr_openers - 1].count = e.count;
	}
	ret = shmx__alloc_take(pp->region, r.base, r.size);
	if (ret)
		goto out_free;
	ret = shmx__alloc_init(&p->alloc, r.base, r.size);
	if (ret)
		goto out_put;
	if (pp->keys->reg(pp->keys->arg, r.base, r.size, NODE_KEY_READ,
			  &p->ro_handle, &p->ro_key)) {
		ret = -ENOMEM;
		goto out_fini;
	}
	p->id = r.id;
	p->base = r.base;
	p->size = r.size;
	p->creator = r.creator;
	memcpy(p->name, r.name, sizeof(p->name));
	if (pp->next_id <= p->id)
		pp->next_id = p->id + 1;
	shmx__rb_insert_key(&pp->by_id, &p->id_node, pool_id_key);
	shmx__rb_insert_key(&pp->by_addr, &p->addr_node, pool_addr_key);
	shmx__rb_insert_name(&pp->by_name, &p->name_node, pool_name);
	pp->nr_pools++;
	return 0;

out_fini:
	shmx__alloc_fini(&p->alloc);
out_put:
	shmx__alloc_put(pp->region, r.base);
out_free:
	free(p->openers);
	free(p);
	return ret;
}

int node_block_load(struct node_pools *pp, const void *buf, size_t len)
{
	struct node_block_rec r;
	struct charge *c = NULL;
	struct block *b;
	struct pool *p;
	int ret;

	if (len < sizeof(r))
		return -EBADMSG;
	memcpy(&r, buf, sizeof(r));
	if (len != sizeof(r) + r.nr_owners * sizeof(uint32_t) || !r.epoch ||
	    !r.creator || (r.holder && r.holder != r.creator))
		return -EBADMSG;
	p = pool_by_id(pp, r.pool);
	if (!p)
		return -ENOENT;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	if (r.nr_owners) {
		b->owners = malloc(r.nr_owners * sizeof(uint32_t));
		ret = -ENOMEM;
		if (!b->owners)
			goto out_free;
		memcpy(b->owners, (const uint8_t *)buf + sizeof(r),
		       r.nr_owners * sizeof(uint32_t));
		b->nr_owners = r.nr_owners;
		ret = -EBADMSG;
		if (!owners_ok(b))
			goto out_free;
	}
	if (r.holder && !(c = charge_find(pp, r.holder))) {
		ret = -ENOMEM;
		c = calloc(1, sizeof(*c));
		if (!c)
			goto out_free;
		c->member = r.holder;
		shmx__rb_insert_key(&pp->charges, &c->node, charge_key);
	}
	ret = shmx__alloc_take(&p->alloc, r.start, r.len);
	if (ret)
		goto out_free;
	if (pp->keys->reg(pp->keys->arg, r.start, r.len, NODE_KEY_RW,
			  &b->key_handle, &b->key)) {
		shmx__alloc_put(&p->alloc, r.start);
		ret = -ENOMEM;
		goto out_free;
	}
	b->pool = p;
	b->start = r.start;
	b->len = r.len;
	b->creator = r.creator;
	b->holder = r.holder;
	b->epoch = r.epoch;
	shmx__rb_insert_key(&p->blocks, &b->node, block_key);
	if (c)
		c->held += r.len;
	return 0;

out_free:
	/* A charge made here and left at 0 goes, as uncharge would. */
	if (c && !c->held) {
		shmx__rb_erase(&c->node, &pp->charges);
		free(c);
	}
	free(b->owners);
	free(b);
	return ret;
}

uint64_t node_pools_next_id(const struct node_pools *pp)
{
	return pp->next_id;
}

void node_pools_set_next_id(struct node_pools *pp, uint64_t next)
{
	if (next > pp->next_id)
		pp->next_id = next;
}
