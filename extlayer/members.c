/* SPDX-License-Identifier: MIT */
/*
 * members.c - control-plane queries that ask shmnode: a member by name,
 * setting the root pointer, shmx_info.  One RPC each; what the header area
 * holds (the registry, the root, the map) is read one-sidedly (header.c).
 */
#include <errno.h>
#include <string.h>

#include "ctx.h"
#include "util/parse.h"

SHMX_EXPORT int shmx_lookup(struct shmx_ctx *ctx, const char *name,
			    shmx_node_t *id)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !name || !id || !*name || strlen(name) >= SHMX_NAME_MAX)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_LOOKUP, 0, 0, 0);
	shmx__strlcpy(req.u.lookup_req.name, name,
		      sizeof(req.u.lookup_req.name));
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret == -EBADMSG)
		return -EINVAL; /* e.g. a name with non-printable bytes */
	if (!ret)
		*id = rep.u.lookup.id;
	return ret;
}

SHMX_EXPORT int shmx_root_set(struct shmx_ctx *ctx, shmx_gaddr_t root)
{
	struct shmx_msg req, rep;

	if (!ctx)
		return -EINVAL;
	/* The node checks that @root lies in the memory (-EFAULT). */
	shmx__msg_init(&req, SHMX_OP_ROOT_SET, 0, 0, 0);
	req.u.root.gaddr = root;
	return shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
}

SHMX_EXPORT int shmx_info(struct shmx_ctx *ctx, struct shmx_info *info)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !info)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_INFO, 0, 0, 0);
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	memset(info, 0, sizeof(*info));
	/* The map this context holds (MAP events keep it current). */
	pthread_mutex_lock(&ctx->lock);
	info->region_size = ctx->map.total;
	pthread_mutex_unlock(&ctx->lock);
	info->self = ctx->id;
	info->protocol_version = SHMX_PROTO_VERSION;
	info->member_count = rep.u.info.member_count;
	info->authenticated = (uint32_t)ctx->authenticated;
	shmx__strlcpy(info->node, ctx->node_addr, sizeof(info->node));
	shmx__strlcpy(info->transport, ctx->transport, sizeof(info->transport));
	shmx__strlcpy(info->transport_reason, ctx->transport_why,
		      sizeof(info->transport_reason));
	shmx__strlcpy(info->provider, ctx->xp->caps.provider,
		      sizeof(info->provider));
	shmx__strlcpy(info->node_version, rep.u.info.version,
		      sizeof(info->node_version));
	return 0;
}
