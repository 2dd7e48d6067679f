/* SPDX-License-Identifier: MIT */
/*
 * growth.c - asking shmnode to grow or shrink the memory (GROW, SHRINK).
 * The node answers after it has sent every member the new map; this
 * context takes that map from the reply's generation on, like any other.
 */
#include <errno.h>

#include "ctx.h"

static int resize(struct shmx_ctx *ctx, uint16_t opcode, uint64_t bytes,
		  shmx_gaddr_t *base)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !bytes)
		return -EINVAL;
	shmx__msg_init(&req, opcode, 0, 0, 0);
	req.u.resize.len = bytes;
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	if (base)
		*base = rep.u.resize_rep.base;
	/* The MAP event was sent before the reply: take it in now, so that
	 * this context holds the new map when the call returns. */
	pthread_mutex_lock(&ctx->lock);
	while (ctx->map.generation < rep.u.resize_rep.generation &&
	       !ctx->failed && shmx__progress_locked(ctx) > 0)
		;
	ret = ctx->map.generation < rep.u.resize_rep.generation;
	pthread_mutex_unlock(&ctx->lock);
	if (ret) { /* not arrived yet: the header has it */
		struct shmx_hdr_map m;

		return shmx__hdr_refresh(ctx, &m);
	}
	return 0;
}

SHMX_EXPORT int shmx_grow(struct shmx_ctx *ctx, uint64_t bytes,
			  shmx_gaddr_t *base)
{
	return resize(ctx, SHMX_OP_GROW, bytes, base);
}

SHMX_EXPORT int shmx_shrink(struct shmx_ctx *ctx, uint64_t bytes)
{
	return resize(ctx, SHMX_OP_SHRINK, bytes, NULL);
}
