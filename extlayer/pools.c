/* SPDX-License-Identifier: MIT */
/*
 * pools.c - pools and allocation: each call is one RPC to shmnode, whose
 * allocator and tables (node/pools.c) keep every record out of the
 * clients' reach.  A pool handle is the pool's id and range, local to this
 * process.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "util/parse.h"

_Static_assert(sizeof(((struct shmx_block_info *)0)->owners) ==
		       SHMX_OWNERS_MAX * sizeof(shmx_node_t),
	       "a listing holds every owner the wire carries");

struct shmx_pool {
	struct shmx_ctx *ctx;
	uint64_t id;
	shmx_gaddr_t base;
	uint64_t size;
	char name[SHMX_NAME_MAX];
};

SHMX_EXPORT int shmx_pool_open(struct shmx_ctx *ctx, const char *name,
			       uint64_t size, unsigned flags,
			       struct shmx_pool **pool)
{
	struct shmx_msg req, rep;
	struct shmx_pool *p;
	int ret;

	if (!ctx || !pool || !shmx__name_valid(name) ||
	    (flags & ~(SHMX_CREAT | SHMX_EXCL)) ||
	    ((flags & SHMX_EXCL) && !(flags & SHMX_CREAT)) ||
	    ((flags & SHMX_CREAT) && !size))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	shmx__msg_init(&req, SHMX_OP_POOL_OPEN, 0, 0, 0);
	req.u.pool_open.flags = (flags & SHMX_CREAT ? SHMX_WIRE_CREAT : 0) |
				(flags & SHMX_EXCL ? SHMX_WIRE_EXCL : 0);
	req.u.pool_open.size = size;
	shmx__strlcpy(req.u.pool_open.name, name, sizeof(req.u.pool_open.name));
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret) {
		free(p);
		return ret;
	}
	p->ctx = ctx;
	p->id = rep.u.pool.id;
	p->base = rep.u.pool.ro.start;
	p->size = rep.u.pool.ro.len;
	shmx__strlcpy(p->name, name, sizeof(p->name));
	*pool = p;
	return 0;
}

/* POOL_CLOSE or POOL_DESTROY of @p. */
static int pool_call(struct shmx_pool *p, uint16_t op)
{
	struct shmx_msg req, rep;

	shmx__msg_init(&req, op, 0, 0, 0);
	req.u.obj.id = p->id;
	return shmx__rpc(p->ctx, &req, &rep, p->ctx->timeout_ms);
}

SHMX_EXPORT int shmx_pool_close(struct shmx_pool *pool)
{
	int ret;

	if (!pool)
		return -EINVAL;
	ret = pool_call(pool, SHMX_OP_POOL_CLOSE);
	free(pool);
	return ret;
}

SHMX_EXPORT int shmx_pool_destroy(struct shmx_pool *pool)
{
	int ret;

	if (!pool)
		return -EINVAL;
	ret = pool_call(pool, SHMX_OP_POOL_DESTROY);
	/* Still in use, or not allowed: the handle stays valid. */
	if (ret == -EBUSY || ret == -EPERM)
		return ret;
	/* Its key is dead (the node tells only the other holders). */
	shmx__grant_forget(pool->ctx, pool->base);
	free(pool);
	return ret;
}

SHMX_EXPORT int shmx_pool_stat(struct shmx_pool *pool,
			       struct shmx_pool_stat *st)
{
	struct shmx_msg req, rep;
	int ret;

	if (!pool || !st)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_POOL_STAT, 0, 0, 0);
	req.u.obj.id = pool->id;
	ret = shmx__rpc(pool->ctx, &req, &rep, pool->ctx->timeout_ms);
	if (ret)
		return ret;
	memset(st, 0, sizeof(*st));
	st->total = rep.u.pool_stat.total;
	st->free = rep.u.pool_stat.free;
	st->largest_free = rep.u.pool_stat.largest_free;
	st->nr_alloc = rep.u.pool_stat.nr_alloc;
	st->nr_free_blocks = rep.u.pool_stat.nr_free_blocks;
	st->open_count = rep.u.pool_stat.open_count;
	st->base = pool->base;
	return 0;
}

SHMX_EXPORT int shmx_alloc(struct shmx_pool *pool, uint64_t size,
			   uint64_t align, shmx_gaddr_t *gaddr)
{
	struct shmx_msg req, rep;
	int ret;

	if (!pool || !gaddr || !size || align > SHMX_ALIGN_MAX ||
	    (align & (align - 1)))
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_ALLOC, 0, 0, 0);
	req.u.alloc.pool = pool->id;
	req.u.alloc.size = size;
	req.u.alloc.align = align < 8 && align ? 8 : align;
	ret = shmx__rpc(pool->ctx, &req, &rep, pool->ctx->timeout_ms);
	if (ret)
		return ret;
	shmx__grant_learn(pool->ctx, &rep.u.grant);
	*gaddr = rep.u.grant.start;
	return 0;
}

SHMX_EXPORT int shmx_release(struct shmx_ctx *ctx, shmx_gaddr_t gaddr)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_RELEASE, 0, 0, 0);
	req.u.addr.gaddr = gaddr;
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (!ret)
		shmx__grant_forget(ctx, gaddr);
	return ret;
}

SHMX_EXPORT int shmx_pool_next(struct shmx_ctx *ctx, uint64_t from,
			       struct shmx_pool_info *info)
{
	const struct shmx_pool_info_rep *p;
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !info)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_POOL_NEXT, 0, 0, 0);
	req.u.next.from = from;
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	p = &rep.u.pool_info;
	memset(info, 0, sizeof(*info));
	info->id = p->id;
	shmx__strlcpy(info->name, p->name, sizeof(info->name));
	info->base = p->base;
	info->size = p->size;
	info->creator = p->creator;
	info->open_count = p->open_count;
	info->free = p->st.free;
	info->largest_free = p->st.largest_free;
	info->nr_alloc = p->st.nr_alloc;
	info->nr_free_blocks = p->st.nr_free_blocks;
	return 0;
}

SHMX_EXPORT int shmx_block_next(struct shmx_ctx *ctx, shmx_gaddr_t from,
				struct shmx_block_info *info)
{
	const struct shmx_block_info_rep *b;
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !info)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_BLOCK_NEXT, 0, 0, 0);
	req.u.next.from = from;
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	b = &rep.u.block_info;
	memset(info, 0, sizeof(*info));
	info->start = b->start;
	info->len = b->len;
	info->pool = b->pool;
	info->creator = b->creator;
	info->holder = b->holder;
	info->epoch = b->epoch;
	info->nr_owners = b->nr_owners;
	for (uint32_t i = 0; i < b->nr_owners; i++)
		info->owners[i] = b->owners[i];
	return 0;
}
