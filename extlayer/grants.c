/* SPDX-License-Identifier: MIT */
/*
 * grants.c - the keys this client holds for ranges of the node's memory
 * (ctx->keys, a keymap.h map): learnt from every reply that carries one
 * (ALLOC, OWN..., GRANT), forgotten when the block goes, and asked for
 * with GRANT.
 */
#include <errno.h>

#include "ctx.h"

void shmx__grant_learn(struct shmx_ctx *ctx, const struct shmx_grant *g)
{
	struct shmx__km_entry e = {
		.start = g->start,
		.len = g->len,
		.key = g->key,
		.rbase = g->rbase,
		.epoch = g->epoch,
		.access = g->access & SHMX_ACC_ALL,
	};

	pthread_mutex_lock(&ctx->lock);
	/* Without room the key is asked for again when it is needed. */
	(void)shmx__km_insert(&ctx->keys, &e);
	pthread_mutex_unlock(&ctx->lock);
}

void shmx__grant_forget(struct shmx_ctx *ctx, shmx_gaddr_t gaddr)
{
	pthread_mutex_lock(&ctx->lock);
	(void)shmx__km_remove(&ctx->keys, gaddr, NULL);
	pthread_mutex_unlock(&ctx->lock);
}

int shmx__grant_get(struct shmx_ctx *ctx, shmx_gaddr_t gaddr, uint32_t access,
		    struct shmx_grant *g)
{
	struct shmx_msg req, rep;
	int ret;

	shmx__msg_init(&req, SHMX_OP_GRANT, 0, 0, 0);
	req.u.grant_req.gaddr = gaddr;
	req.u.grant_req.access = access;
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	shmx__grant_learn(ctx, &rep.u.grant);
	*g = rep.u.grant;
	return 0;
}
