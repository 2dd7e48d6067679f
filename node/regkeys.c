/* SPDX-License-Identifier: MIT */
/*
 * regkeys.c - remote keys for ranges of the exported memory: one transport
 * registration per key (exact access rights), found again by key to compute
 * the remote address a grant carries.
 */
#include <errno.h>
#include <stdlib.h>

#include "regkeys.h"
#include "util/errstr.h"
#include "util/log.h"

struct regkey {
	struct shmx__rb_node node; /* in by_key */
	struct xport_mr *mr;
	uint64_t gaddr;	   /* first byte of the range */
	uint32_t *holders; /* members it was handed to, each once */
	uint32_t nholders, cap;
};

static struct regkey *find(const struct regkeys *rk, uint64_t key)
{
	struct shmx__rb_node *n = rk->by_key.node;

	while (n) {
		struct regkey *r = shmx__rb_entry(n, struct regkey, node);

		if (key == r->mr->key)
			return r;
		n = key < r->mr->key ? n->left : n->right;
	}
	return NULL;
}

static int insert(struct regkeys *rk, struct regkey *r)
{
	struct shmx__rb_node **link = &rk->by_key.node, *parent = NULL;

	while (*link) {
		struct regkey *o = shmx__rb_entry(*link, struct regkey, node);

		if (r->mr->key == o->mr->key)
			return -EEXIST;
		parent = *link;
		link = r->mr->key < o->mr->key ? &parent->left : &parent->right;
	}
	shmx__rb_link(&r->node, parent, link);
	shmx__rb_insert_color(&r->node, &rk->by_key);
	return 0;
}

static int rk_reg(void *arg, uint64_t gaddr, uint64_t len, unsigned access,
		  void **handle, uint64_t *key)
{
	struct regkeys *rk = arg;
	struct regkey *r;
	void *mem;
	int ret;

	/* A range inside one extent (objects never span two). */
	mem = len ? extents_ptr(rk->mem, gaddr, len) : NULL;
	if (!mem)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	ret = xport_mr_reg(rk->xp, mem, len, access, &r->mr);
	if (ret) {
		log_warn("cannot register [%#llx, +%llu) for remote access: %s",
			 (unsigned long long)gaddr, (unsigned long long)len,
			 shmx__strerror(ret));
		free(r);
		return ret;
	}
	r->gaddr = gaddr;
	/* A transport that hands out a key twice would make grants lie. */
	ret = insert(rk, r);
	if (ret) {
		log_error("the transport gave key %#llx twice",
			  (unsigned long long)r->mr->key);
		xport_mr_dereg(rk->xp, r->mr);
		free(r);
		return -EIO;
	}
	rk->count++;
	*handle = r;
	*key = r->mr->key;
	return 0;
}

static void rk_unreg(void *arg, void *handle)
{
	struct regkeys *rk = arg;
	struct regkey *r = handle;

	if (!r)
		return;
	shmx__rb_erase(&r->node, &rk->by_key);
	/* Its holders are told (queued sends), then it goes. */
	if (rk->dropped && r->nholders)
		rk->dropped(rk->dropped_arg, r->gaddr, r->mr->len, r->holders,
			    r->nholders);
	xport_mr_dereg(rk->xp, r->mr);
	free(r->holders);
	free(r);
	rk->count--;
}

void regkeys_init(struct regkeys *rk, struct xport *xp,
		  const struct node_extents *mem)
{
	rk->ops.reg = rk_reg;
	rk->ops.unreg = rk_unreg;
	rk->ops.arg = rk;
	rk->xp = xp;
	rk->mem = mem;
	rk->by_key.node = NULL;
	rk->count = 0;
	rk->dropped = NULL;
	rk->dropped_arg = NULL;
}

void regkeys_fini(struct regkeys *rk)
{
	struct shmx__rb_node *n;

	if (rk->count)
		log_warn("%llu remote keys left at exit",
			 (unsigned long long)rk->count);
	while ((n = shmx__rb_first(&rk->by_key)))
		rk_unreg(rk, shmx__rb_entry(n, struct regkey, node));
}

int regkeys_hold(struct regkeys *rk, uint64_t key, uint32_t member)
{
	struct regkey *r = find(rk, key);

	if (!r)
		return -ENOENT;
	for (uint32_t i = 0; i < r->nholders; i++)
		if (r->holders[i] == member)
			return 0;
	if (r->nholders == r->cap) {
		uint32_t cap = r->cap ? 2 * r->cap : 4;
		uint32_t *h = realloc(r->holders, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		r->holders = h;
		r->cap = cap;
	}
	r->holders[r->nholders++] = member;
	return 0;
}

int regkeys_rbase(const struct regkeys *rk, uint64_t key, uint64_t gaddr,
		  uint64_t *rbase)
{
	const struct regkey *r = find(rk, key);

	if (!r)
		return -ENOENT;
	if (gaddr < r->gaddr || gaddr - r->gaddr >= r->mr->len)
		return -ERANGE;
	*rbase = r->mr->base + (gaddr - r->gaddr);
	return 0;
}
