/* SPDX-License-Identifier: MIT */
/*
 * ownership.c - making a block exclusive to a set of members, passing it
 * on, making it shared again, and reading its epoch.  shmnode re-keys the
 * block at every change (the old key is revoked before the new one is
 * handed out); the caller learns the key the reply carries.
 */
#include <errno.h>
#include <string.h>

#include "ctx.h"

/* OWN or OWN_TRANSFER of the block at @gaddr to @nodes[0..@n). */
static int own_call(struct shmx_ctx *ctx, uint16_t op, shmx_gaddr_t gaddr,
		    const shmx_node_t *nodes, unsigned n, uint64_t *epoch)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !nodes || !n || n > SHMX_OWNERS_MAX)
		return -EINVAL;
	shmx__msg_init(&req, op, 0, 0, 0);
	req.u.own.gaddr = gaddr;
	req.u.own.count = n;
	for (unsigned i = 0; i < n; i++) {
		if (!nodes[i])
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (nodes[j] == nodes[i])
				return -EINVAL;
		req.u.own.nodes[i] = nodes[i];
	}
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	shmx__grant_learn(ctx, &rep.u.grant);
	if (epoch)
		*epoch = rep.u.grant.epoch;
	return 0;
}

SHMX_EXPORT int shmx_own(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			 const shmx_node_t *nodes, unsigned n, uint64_t *epoch)
{
	return own_call(ctx, SHMX_OP_OWN, gaddr, nodes, n, epoch);
}

SHMX_EXPORT int shmx_own_transfer(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
				  const shmx_node_t *nodes, unsigned n,
				  uint64_t *epoch)
{
	return own_call(ctx, SHMX_OP_OWN_TRANSFER, gaddr, nodes, n, epoch);
}

SHMX_EXPORT int shmx_disown(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			    uint64_t *epoch)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_DISOWN, 0, 0, 0);
	req.u.addr.gaddr = gaddr;
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	shmx__grant_learn(ctx, &rep.u.grant);
	if (epoch)
		*epoch = rep.u.grant.epoch;
	return 0;
}

SHMX_EXPORT int shmx_own_epoch(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			       uint64_t *epoch, int *owner)
{
	struct shmx_grant g;
	int ret;

	if (!ctx || !epoch)
		return -EINVAL;
	/* The best key this member may have says both: the epoch, and
	 * whether it is an owner (owned, and write access). */
	ret = shmx__grant_get(ctx, gaddr, SHMX_ACC_READ, &g);
	if (ret)
		return ret;
	*epoch = g.epoch;
	if (owner)
		*owner = (g.access & SHMX_ACC_OWNED) &&
			 (g.access & SHMX_ACC_WRITE);
	return 0;
}
